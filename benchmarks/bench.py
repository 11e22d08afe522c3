"""`make bench`: the real app under gunicorn on 127.0.0.1, loaded with wrk, measured against a bare
template route (the ceiling) in the same run; search timed server-side; results as a table and as
benchmarks/results/latest.json (git-ignored).

The headline row is the district mix: BENCH_USERS (2,000) distinct verified residents spread over
every compound, each loading pages of their own compound (home feed 45 %, one of its 40 newest
posts 35 %, a section 15 %, search 5 %), while other residents post replies through the reply form
at BENCH_WRITES_PER_S (2) for the whole run. It starts from a freshly started server with every
cache empty (the Redis cache's keys deleted too when REDIS_URL is set), nothing warmed. The per-page
rows that follow load one kind of page each, again for every one of those residents; then the staff
pages (dashboards, grids, household files, the private line, the first-response queue, 我的工单),
each loaded by the role that works there over up to 100 nodes of the district (prepare.staff_pages),
with p99 < 100 ms as their target. The first views table gives the server-side time of a page
nothing was kept for.

Readers' session cookies are minted with the app's session interface (prepare.py); writers sign in
through the login form. Sizes come from the environment: BENCH_POSTS (1,000,000), BENCH_COMPOUNDS
(500), BENCH_SECONDS (10), BENCH_MIX_SECONDS (30); BENCH_DB=sqlite or BENCH_DB=postgresql measures
one database only. The district database is built once per size (flask seed-district) and reused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
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
MIX_SECONDS = int(os.environ.get("BENCH_MIX_SECONDS", "30"))
USERS = int(os.environ.get("BENCH_USERS", "2000"))
WRITES_PER_S = float(os.environ.get("BENCH_WRITES_PER_S", "2"))
PASSWORD = "Bench2026x"
PORT = int(os.environ.get("BENCH_PORT", "5090"))  # another on a shared machine
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
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CB_CONFIG": "bench",
        "BENCH_USERS": str(USERS),
        "ID_HASH_KEY": "bench-id-key",
        "BENCH_CEILING": "1",
        "FLASK_APP": "community_board:create_app",
        "CB_INSTANCE_PATH": str(DATA / "instance"),
    }


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
    subprocess.run(
        [VENV / "flask", "seed-district", "--posts", str(POSTS), "--compounds", str(COMPOUNDS)], env=env, check=True
    )
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
    give them a known password, and find the pages to load (staff pages with their staff's cookies)."""
    script = ROOT / "benchmarks" / "prepare.py"
    out = subprocess.run([VENV / "python", script, PASSWORD], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


EMPTY_CACHES = """
from community_board import caching, create_app
with create_app().app_context():
    caching.clear()
"""


def start_server(env: dict) -> subprocess.Popen:
    """A fresh gunicorn with every cache empty: its workers' memory is new, and the shared cache
    (Redis, when REDIS_URL is set) loses this app's keys first."""
    subprocess.run([VENV / "python", "-c", EMPTY_CACHES], env=env, check=True)
    server = subprocess.Popen(
        [
            VENV / "gunicorn",
            "-c",
            ROOT / "gunicorn.conf.py",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{PORT}",
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            str(DATA / "gunicorn.log"),
            "community_board:create_app()",
        ],
        env=env,
        cwd=ROOT,
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
    """The Cookie header a real login gives (the form, its CSRF token, the password)."""
    import requests

    session = requests.Session()
    page = session.get(f"http://127.0.0.1:{PORT}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(
        f"http://127.0.0.1:{PORT}/login",
        timeout=10,
        allow_redirects=False,
        data={"csrf_token": token, "phone": phone, "password": PASSWORD},
    )
    if response.status_code != 302:
        raise RuntimeError(f"bench login failed for {phone[:3]}****")
    # Every cookie the browser now holds: the session's and the sign-in's device cookie.
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def settle(targets: list[tuple[str, str]]) -> None:
    """Start each page from an idle server: the previous page's queued requests (search under load
    queues for hundreds of ms) have drained, and each target was loaded once or twice already, as
    a page that people use has been. Each must answer 200: wrk counts a redirect (to the sign-in
    page, say) as a success."""
    import requests

    time.sleep(2)
    for path, cookie in targets:
        for _ in range(2):
            response = requests.get(
                f"http://127.0.0.1:{PORT}{path}", headers={"Cookie": cookie}, timeout=30, allow_redirects=False
            )
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}, not the page")


def wrk(targets: list[tuple[str, str]], seconds: int = SECONDS, strict: bool = True) -> dict:
    """Load random (path, cookie) pairs for ``seconds``; requests/s and latency percentiles."""
    lines = (
        ["local targets = {"]
        + [f'  {{"{p}", "{c}"}},' for p, c in targets]
        + ["}", "path = function() local t = targets[math.random(#targets)] return t[1], t[2] end"]
    )
    return run_wrk("\n".join(lines), seconds, strict)


def district_script(district: dict, choose: str) -> str:
    """A wrk script whose every request is a random reader of the district loading the page that
    the Lua expression ``choose`` names (it sees ``b``, the reader's board, and ``x``, 1..100)."""

    def lua(value):
        if isinstance(value, list):
            return "{" + ",".join(lua(v) for v in value) + "}"
        return "nil" if value is None else f'"{value}"' if isinstance(value, str) else str(value)

    boards = [[b["compound_id"], b["posts"], b["deep_section"], b["busy_post"]] for b in district["boards"]]
    readers = [[r["cookie"], r["board"] + 1] for r in district["readers"]]
    words = [quote(w) for w in SEARCH_WORDS]
    return "\n".join(
        [
            f"local boards = {lua(boards)}",
            f"local readers = {lua(readers)}",
            f"local sections = {lua(district['sections'])}",
            f"local words = {lua(words)}",
            "path = function()",
            "  local r = readers[math.random(#readers)]",
            "  local b, x = boards[r[2]], math.random(100)",
            f"  return {choose}, r[1]",
            "end",
        ]
    )


MIX = (
    'x <= 45 and ("/c/" .. b[1]) or x <= 80 and ("/p/" .. b[2][math.random(#b[2])]) '
    'or x <= 95 and ("/c/" .. b[1] .. "/s/" .. sections[math.random(#sections)]) '
    'or ("/search?q=" .. words[math.random(#words)] .. "&scope=compound:" .. b[1])'
)
# Per-page rows: every reader, one kind of page (boards without such a page fall back to their feed).
PAGE_CHOICES = {
    "home feed": '"/c/" .. b[1]',
    "section page 50 deep": 'b[3] or ("/c/" .. b[1] .. "/s/matters")',
    "post with 50 replies": '"/p/" .. (b[4] or b[2][1])',
    "search 2-char word": '"/search?q=" .. words[math.random(2)] .. "&scope=compound:" .. b[1]',
}


def run_wrk(script_text: str, seconds: int, strict: bool = True) -> dict:
    """wrk with a script defining ``path()`` → (path, cookie); each thread seeds its own random."""
    text = (
        script_text
        + "\n"
        + "\n".join(
            [
                "local counter = 0",
                "function setup(thread) counter = counter + 1; thread:set('id', counter) end",
                "function init(args) math.randomseed(os.time() * 1000 + id * 7919) end",
                "request = function()",
                "  local p, cookie = path()",
                '  return wrk.format("GET", p, cookie ~= "" and {["Cookie"] = cookie} or {})',
                "end",
            ]
        )
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(text)
    run = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c8",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "5s",
            "-s",
            script.name,
            f"http://127.0.0.1:{PORT}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    out = run.stdout
    if "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed:\n{out}\n{run.stderr}")
    os.unlink(script.name)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    if errors and strict:
        raise RuntimeError(f"{errors} failed responses under load:\n{out}")

    def ms(label):
        value = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        number, unit = float(value.group(1)), value.group(2)
        return round(number / 1000 if unit == "us" else number * 1000 if unit == "s" else number, 2)

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "errors": errors,
    }


class Writers(threading.Thread):
    """Residents replying through the reply form at ``per_second`` for as long as it runs: each
    signs in through the login form and reads the reply form's CSRF token from a post page once."""

    def __init__(self, writers: list[dict], per_second: float):
        super().__init__(daemon=True)
        import requests

        self.sessions = []
        for writer in writers:
            session = requests.Session()  # its cookie jar keeps the session the reply form's token is in
            for pair in sign_in(writer["phone"]).split("; "):
                name, value = pair.split("=", 1)
                session.cookies.set(name, value, domain="127.0.0.1", path="/")
            response = session.get(f"http://127.0.0.1:{PORT}/p/{writer['posts'][0]}", timeout=30)
            token = re.search(r'id="reply-form".*?name="csrf_token" type="hidden" value="([^"]+)"', response.text, re.S)
            if token is None:
                raise RuntimeError(f"no reply form on the writer's post page ({response.status_code} {response.url})")
            self.sessions.append((session, writer["posts"], token.group(1).replace("&#34;", '"')))
        self.interval, self.accepted, self.refused = 1 / per_second, 0, 0
        self.stop = threading.Event()

    def run(self):
        import random

        due, n = time.monotonic(), 0
        while not self.stop.is_set():
            session, posts, token = self.sessions[n % len(self.sessions)]
            post_id = random.choice(posts)
            try:
                response = session.post(
                    f"http://127.0.0.1:{PORT}/p/{post_id}/reply",
                    allow_redirects=False,
                    data={"csrf_token": token, "body": f"压测回复 {n}：楼下的路灯已经修好了"},
                    timeout=10,
                )
                ok = response.status_code == 302
            except Exception:  # noqa: BLE001  (a refused write is counted, whatever the reason)
                ok = False
            self.accepted += ok
            self.refused += not ok
            n += 1
            due += self.interval
            self.stop.wait(max(0.0, due - time.monotonic()))


def worker_memory_mb(server: subprocess.Popen) -> list[float]:
    """Resident memory of each gunicorn worker."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(round(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024, 1))
    return sizes


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is missing (make bench installs it with apt)", file=sys.stderr)
        return 1
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"mix": [], "runs": [], "search": [], "seed": [], "first_views": [], "memory": []}
    for kind, url in databases():
        report["seed"].append({"db": kind, "posts": POSTS, "seconds": build(kind, url)})
        env = environment(url)
        plan = prepare(env)
        missing = [page for page, targets in plan["staff_pages"].items() if not targets]
        if missing:
            raise RuntimeError(
                f"nothing to load for {', '.join(missing)} on {kind}: the district was seeded before them; "
                f"drop it ({DATA}/district-{POSTS}.db* or the bench database) to build it again"
            )
        report["search"].extend({"db": kind, **row} for row in plan["search"])
        report["first_views"].extend({"db": kind, **row} for row in plan["first_views"])
        district = plan["district"]
        server = start_server(env)
        try:
            # Writers sign in and read their form first; the ceiling route touches no board cache.
            writers = Writers(district["writers"], WRITES_PER_S)
            ceiling = wrk([("/_bench/ceiling", "")])
            writers.start()
            mix = run_wrk(district_script(district, MIX), MIX_SECONDS, strict=False)
            writers.stop.set()
            writers.join()
            report["mix"].append(
                {
                    "db": kind,
                    "users": len(district["readers"]),
                    "writes_per_s": WRITES_PER_S,
                    "rps": mix["rps"],
                    "p50_ms": mix["p50_ms"],
                    "p99_ms": mix["p99_ms"],
                    "ceiling_rps": ceiling["rps"],
                    "ratio": round(mix["rps"] / ceiling["rps"], 3),
                    "errors": mix["errors"] + writers.refused,
                    "writes_accepted": writers.accepted,
                    "writes_refused": writers.refused,
                }
            )
            report["memory"].append({"db": kind, "worker_rss_mb": worker_memory_mb(server)})

            street_cookie = sign_in(plan["street_staff"]["phone"])
            district_cookie = sign_in(plan["district_staff"]["phone"])
            pages = {page: district_script(district, choose) for page, choose in PAGE_CHOICES.items()}
            pages["search phrase"] = district_script(
                district, f'"/search?q={quote("电梯维修")}&scope=compound:" .. b[1]'
            )
            staff_pages = {
                "street dashboard": [(f"/dashboard/street/{plan['street_staff']['street_id']}", street_cookie)],
                "district dashboard": [
                    (f"/dashboard/district/{plan['district_staff']['district_id']}", district_cookie)
                ],
                **{page: [tuple(target) for target in targets] for page, targets in plan["staff_pages"].items()},
            }
            for page, script_text in pages.items():
                time.sleep(2)  # the previous row's queued requests drain first
                result = run_wrk(script_text, SECONDS)
                report["runs"].append(
                    {
                        "db": kind,
                        "page": page,
                        "viewers": len(district["readers"]),
                        **result,
                        "ceiling_rps": ceiling["rps"],
                        "ratio": round(result["rps"] / ceiling["rps"], 3),
                    }
                )
            for page, targets in staff_pages.items():
                settle(targets)
                result = wrk(targets)
                report["runs"].append(
                    {
                        "db": kind,
                        "page": page,
                        "viewers": len({cookie for _, cookie in targets}),
                        "pages": len(targets),
                        **result,
                        "ceiling_rps": ceiling["rps"],
                        "ratio": round(result["rps"] / ceiling["rps"], 3),
                        "target_p99_ms": STAFF_P99_MS,
                    }
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    (RESULTS / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print_table(report)
    return 0


# The targets, as (what is measured, the bound) per page; None where no bound is set.
RATIO_TARGETS = {"sqlite": 0.5, "postgresql": 0.3}
RATIO_PAGES = {"home feed", "section page 50 deep", "post with 50 replies"}
STAFF_P99_MS = 100  # every staff page row: the dashboards, grids, the private line, the queues, 我的工单
SEARCH_P95_MS = 50
SEED_SECONDS = {"sqlite": 600, "postgresql": 900}


def page_target(row: dict) -> tuple[str, bool] | None:
    if row["page"] in RATIO_PAGES:
        bound = RATIO_TARGETS[row["db"]]
        return f"ratio >= {bound}", row["ratio"] >= bound
    if "target_p99_ms" in row:
        bound = row["target_p99_ms"]
        return f"p99 < {bound} ms", row["p99_ms"] < bound
    return None


def verdict(target) -> str:
    if target is None:
        return ""
    text, met = target
    return f"{text} {'met' if met else 'MISSED'}"


MIX_P99_MS = 100
WORKER_MB = 300


def print_table(report: dict) -> None:
    print(
        f"\n{'db':<11}{'district mix':<14}{'users':>6}{'writes/s':>9}{'rps':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'ceiling':>9}{'ratio':>7}{'errors':>7}{'written':>8}  target"
    )
    for row in report["mix"]:
        bound = RATIO_TARGETS[row["db"]]
        met = row["ratio"] >= bound and row["p99_ms"] < MIX_P99_MS and not row["errors"]
        print(
            f"{row['db']:<11}{'':<14}{row['users']:>6}{row['writes_per_s']:>9}{row['rps']:>8.0f}{row['p50_ms']:>8}"
            f"{row['p99_ms']:>8}{row['ceiling_rps']:>9.0f}{row['ratio']:>7}{row['errors']:>7}"
            f"{row['writes_accepted']:>8}  {verdict((f'ratio >= {bound}, p99 < {MIX_P99_MS} ms, 0 errors', met))}"
        )
    print(
        f"\n{'db':<11}{'page':<24}{'viewers':>8}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'ceiling':>9}{'ratio':>7}  target"
    )
    for row in report["runs"]:
        print(
            f"{row['db']:<11}{row['page']:<24}{row['viewers']:>8}{row['rps']:>9.0f}{row['p50_ms']:>9}{row['p99_ms']:>9}"
            f"{row['ceiling_rps']:>9.0f}{row['ratio']:>7}  {verdict(page_target(row))}"
        )
    print(f"\n{'db':<11}{'search':<12}{'scope':<10}{'p50 ms':>9}{'p95 ms':>9}{'checked':>9}{'missed':>8}  target")
    for row in report["search"]:
        missed = "" if row["missed_by_index"] is None else row["missed_by_index"]
        met = row["p95_ms"] < SEARCH_P95_MS and not row["missed_by_index"]
        print(
            f"{row['db']:<11}{row['query']:<12}{row['scope']:<10}{row['p50_ms']:>9}{row['p95_ms']:>9}"
            f"{row['results_checked']:>9}{missed:>8}  {verdict((f'p95 < {SEARCH_P95_MS} ms, exact', met))}"
        )
    print(
        f"\n{'db':<11}{'first view (server-side)':<26}{'p50 ms':>9}{'p95 ms':>9}  every cache emptied before each load"
    )
    for row in report["first_views"]:
        print(f"{row['db']:<11}{row['page']:<26}{row['p50_ms']:>9}{row['p95_ms']:>9}")
    print()
    for row in report["memory"]:
        largest = max(row["worker_rss_mb"])
        print(
            f"{row['db']}: worker memory {row['worker_rss_mb']} MB after the mix  "
            f"{verdict((f'< {WORKER_MB} MB', largest < WORKER_MB))}"
        )
    for row in report["seed"]:
        bound = SEED_SECONDS[row["db"]]
        print(
            f"seeded {row['posts']} posts on {row['db']} in {row['seconds']} s  "
            f"{verdict((f'< {bound} s', row['seconds'] < bound))}"
        )
    print(f"\nwritten to {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    sys.exit(main())
