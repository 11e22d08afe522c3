"""`make bench`: the real app under gunicorn on 127.0.0.1, loaded with wrk, measured against a bare
template route (the ceiling) in the same run; search timed server-side; results as a table and as
benchmarks/results/latest.json (git-ignored).

wrk replays a few signed-in residents' pages, so it measures repeat views, which pages kept per
viewer serve with the login query alone; the first views table gives the server-side time of a
page nothing was kept for (the first look after the board changed).

Sizes come from the environment: BENCH_POSTS (1,000,000), BENCH_COMPOUNDS (500), BENCH_SECONDS (10);
BENCH_DB=sqlite or BENCH_DB=postgresql measures one database only.
The district database is built once per size (flask seed-district) and reused.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"
VENV = ROOT / ".venv" / "bin"
POSTS = int(os.environ.get("BENCH_POSTS", "1000000"))
COMPOUNDS = int(os.environ.get("BENCH_COMPOUNDS", "500"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
PASSWORD = "Bench2026x"
PORT = 5090
SEARCH_WORDS = ["停水", "电梯", "物业", "噪音", "电梯维修", "垃圾分类"]
SEARCH_RUNS = 30


def databases() -> list[tuple[str, str]]:
    found = [("sqlite", f"sqlite:///{DATA / f'district-{POSTS}.db'}")]
    if shutil.which("pg_isready") and subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0:
        found.append(("postgresql", f"postgresql+psycopg://postgres@127.0.0.1:5432/bench_{POSTS}"))
    only = os.environ.get("BENCH_DB")
    return [(kind, url) for kind, url in found if not only or kind == only]


def environment(url: str) -> dict:
    # The bench config: production's, but plain http on loopback and limits in each worker's memory.
    return {**os.environ, "DATABASE_URL": url, "CB_CONFIG": "bench", "ID_HASH_KEY": "bench-id-key",
            "BENCH_CEILING": "1", "FLASK_APP": "community_board:create_app", "CB_INSTANCE_PATH": str(DATA / "instance")}


def ensure_postgres_database(url: str, fresh: bool = False) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        if fresh:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def build(kind: str, url: str) -> float:
    """Seed the district unless this size was built before; the seconds seeding took (kept beside
    the data, so a reused database still reports how long it took to build)."""
    record = DATA / f"seed-{kind}-{POSTS}.json"
    env = environment(url)
    for attempt in ("reuse", "rebuild"):
        if kind == "postgresql":
            ensure_postgres_database(url, fresh=attempt == "rebuild")
        elif attempt == "rebuild":
            for path in DATA.glob(f"district-{POSTS}.db*"):
                path.unlink()
        subprocess.run([VENV / "flask", "db", "upgrade"], env=env, check=True, capture_output=True)
        probe = subprocess.run([VENV / "python", "-c", PROBE_BUILT], env=env, capture_output=True, text=True)
        state = probe.stdout.strip()
        if state == "built" and record.exists():
            return json.loads(record.read_text())["seconds"]
        if state == "empty":
            break  # a partial build, or one without a record of its time, is built again from nothing
    started = time.monotonic()
    subprocess.run([VENV / "flask", "seed-district", "--posts", str(POSTS), "--compounds", str(COMPOUNDS)],
                   env=env, check=True)
    seconds = round(time.monotonic() - started, 1)
    record.write_text(json.dumps({"seconds": seconds}))
    return seconds


PROBE_BUILT = """
import sqlalchemy as sa
from community_board import create_app
from community_board.board.models import Post
from community_board.extensions import db
with create_app().app_context():
    posts = db.session.scalar(sa.select(sa.func.count()).select_from(Post)) or 0
    print("empty" if not posts else "built" if posts >= %d else "partial")
""" % (POSTS * 9 // 10)


def prepare(env: dict) -> dict:
    """Pick who signs in (residents of busy compounds, a street grid worker, a district one),
    give them a known password, and find the pages to load."""
    script = ROOT / "benchmarks" / "prepare.py"
    out = subprocess.run([VENV / "python", script, PASSWORD], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def start_server(env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [VENV / "gunicorn", "-c", ROOT / "gunicorn.conf.py", "-w", "2", "-b", f"127.0.0.1:{PORT}",
         "--access-logfile", "/dev/null",
         "--error-logfile", str(DATA / "gunicorn.log"), "community_board:create_app()"],
        env=env, cwd=ROOT,
    )
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{PORT}/login", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not start; see benchmarks/data/gunicorn.log")


def sign_in(phone: str) -> str:
    """The session cookie a real login gives (the form, its CSRF token, the password)."""
    import requests

    session = requests.Session()
    page = session.get(f"http://127.0.0.1:{PORT}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(f"http://127.0.0.1:{PORT}/login", timeout=10, allow_redirects=False,
                            data={"csrf_token": token, "phone": phone, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"bench login failed for {phone[:3]}****")
    cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    return cookie


def deep_section_url(cookie: str, compound_id: int, depth: int = 50) -> str:
    """The section page 50 pages deep, reached by following 加载更多 as a user would."""
    import requests

    url = f"/c/{compound_id}/s/matters"
    for _ in range(depth):
        page = requests.get(f"http://127.0.0.1:{PORT}{url}", headers={"Cookie": cookie}, timeout=10).text
        found = re.search(r'data-load-more href="([^"]+)"', page)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    return url


def settle(targets: list[tuple[str, str]]) -> None:
    """Start each page from an idle server: the previous page's queued requests (search under load
    queues for hundreds of ms) have drained, and each target was loaded once or twice already, as
    a page that people use has been."""
    import requests

    time.sleep(2)
    for path, cookie in targets:
        for _ in range(2):
            requests.get(f"http://127.0.0.1:{PORT}{path}", headers={"Cookie": cookie}, timeout=30)


def wrk(targets: list[tuple[str, str]]) -> dict:
    """Load random (path, cookie) pairs for SECONDS; requests/s and latency percentiles."""
    lines = ["local targets = {"] + [f'  {{"{p}", "{c}"}},' for p, c in targets] + ["}"]
    lines += ["request = function()", "  local t = targets[math.random(#targets)]",
              '  return wrk.format("GET", t[1], {["Cookie"] = t[2]})', "end"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines))
    run = subprocess.run(["wrk", "-t2", "-c8", f"-d{SECONDS}s", "--latency", "-s", script.name,
                          f"http://127.0.0.1:{PORT}"], capture_output=True, text=True, timeout=SECONDS + 60)
    out = run.stdout
    if "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed on {targets[0][0]}:\n{out}\n{run.stderr}")
    os.unlink(script.name)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} failed responses under load:\n{out}")

    def ms(label):
        value = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        number, unit = float(value.group(1)), value.group(2)
        return round(number / 1000 if unit == "us" else number * 1000 if unit == "s" else number, 2)

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": ms("50"), "p99_ms": ms("99")}


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is missing (make bench installs it with apt)", file=sys.stderr)
        return 1
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"runs": [], "search": [], "seed": [], "first_views": []}
    for kind, url in databases():
        report["seed"].append({"db": kind, "posts": POSTS, "seconds": build(kind, url)})
        env = environment(url)
        plan = prepare(env)
        report["search"].extend({"db": kind, **row} for row in plan["search"])
        report["first_views"].extend({"db": kind, **row} for row in plan["first_views"])
        server = start_server(env)
        try:
            residents = [(sign_in(r["phone"]), r) for r in plan["residents"]]
            street_cookie = sign_in(plan["street_staff"]["phone"])
            district_cookie = sign_in(plan["district_staff"]["phone"])
            settle([("/_bench/ceiling", "")])
            ceiling = wrk([("/_bench/ceiling", "")])
            pages = {
                "home feed": [(f"/c/{r['compound_id']}", c) for c, r in residents],
                "section page 50 deep": [(deep_section_url(c, r["compound_id"]), c) for c, r in residents[:4]],
                "post with 50 replies": [(f"/p/{r['busy_post_id']}", c) for c, r in residents if r["busy_post_id"]],
                "search 2-char word": [(f"/search?q={quote(w)}", c) for c, _ in residents for w in ("停水", "电梯")],
                "search phrase": [(f"/search?q={quote('电梯维修')}", c) for c, _ in residents],
                "street dashboard": [(f"/dashboard/street/{plan['street_staff']['street_id']}", street_cookie)],
                "district dashboard": [(f"/dashboard/district/{plan['district_staff']['district_id']}",
                                        district_cookie)],
            }
            for page, targets in pages.items():
                if not targets:
                    continue
                settle(targets)
                result = wrk(targets)
                report["runs"].append({"db": kind, "page": page, **result, "ceiling_rps": ceiling["rps"],
                                       "ratio": round(result["rps"] / ceiling["rps"], 3)})
        finally:
            server.terminate()
            server.wait(timeout=30)
    (RESULTS / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print_table(report)
    return 0


# The targets, as (what is measured, the bound) per page; None where no bound is set.
RATIO_TARGETS = {"sqlite": 0.5, "postgresql": 0.3}
RATIO_PAGES = {"home feed", "section page 50 deep", "post with 50 replies"}
P99_PAGES = {"street dashboard": 100, "district dashboard": 100}
SEARCH_P95_MS = 50
SEED_SECONDS = {"sqlite": 600, "postgresql": 900}


def page_target(row: dict) -> tuple[str, bool] | None:
    if row["page"] in RATIO_PAGES:
        bound = RATIO_TARGETS[row["db"]]
        return f"ratio >= {bound}", row["ratio"] >= bound
    if row["page"] in P99_PAGES:
        bound = P99_PAGES[row["page"]]
        return f"p99 < {bound} ms", row["p99_ms"] < bound
    return None


def verdict(target) -> str:
    if target is None:
        return ""
    text, met = target
    return f"{text} {'met' if met else 'MISSED'}"


def print_table(report: dict) -> None:
    print(f"\n{'db':<11}{'page':<24}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'ceiling':>9}{'ratio':>7}  target")
    for row in report["runs"]:
        print(f"{row['db']:<11}{row['page']:<24}{row['rps']:>9.0f}{row['p50_ms']:>9}{row['p99_ms']:>9}"
              f"{row['ceiling_rps']:>9.0f}{row['ratio']:>7}  {verdict(page_target(row))}")
    print(f"\n{'db':<11}{'search':<12}{'scope':<10}{'p50 ms':>9}{'p95 ms':>9}{'checked':>9}{'missed':>8}  target")
    for row in report["search"]:
        missed = "" if row["missed_by_index"] is None else row["missed_by_index"]
        met = row["p95_ms"] < SEARCH_P95_MS and not row["missed_by_index"]
        print(f"{row['db']:<11}{row['query']:<12}{row['scope']:<10}{row['p50_ms']:>9}{row['p95_ms']:>9}"
              f"{row['results_checked']:>9}{missed:>8}  {verdict((f'p95 < {SEARCH_P95_MS} ms, exact', met))}")
    print(f"\n{'db':<11}{'first view (server-side)':<26}{'p50 ms':>9}{'p95 ms':>9}  "
          "nothing kept for the viewer yet; post cards kept")
    for row in report["first_views"]:
        print(f"{row['db']:<11}{row['page']:<26}{row['p50_ms']:>9}{row['p95_ms']:>9}")
    print()
    for row in report["seed"]:
        bound = SEED_SECONDS[row["db"]]
        print(f"seeded {row['posts']} posts on {row['db']} in {row['seconds']} s  "
              f"{verdict((f'< {bound} s', row['seconds'] < bound))}")
    print(f"\nwritten to {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    sys.exit(main())
