"""Run by bench.py inside the app: choose the bench users, the pages to load, and time search
server-side on this database, checking results against a substring scan.

The district mix needs thousands of signed-in residents. Signing each in through the login form
costs a scrypt hash apiece, so their session cookies are minted here with the app's own session
interface and SECRET_KEY, holding what a sign-in stores (sessions.start). The residents who post
replies during the run sign in through the real login form (bench.py), with a known password."""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from urllib.parse import quote

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from community_board import caching, create_app
from community_board.accounts.models import Household, ResidentStatus, User
from community_board.accounts.sessions import SEEN
from community_board.board.models import Post, Section
from community_board.compounds.models import (
    Compound,
    District,
    StaffAssignment,
    StaffRole,
)
from community_board.extensions import db
from community_board.grids.models import GridBuilding, HouseholdFile
from community_board.pagination import encode_cursor
from community_board.permissions import Action, can
from community_board.search import services as search
from community_board.search.models import SearchDocument

WORDS = [
    ("停水", "2-char"),
    ("电梯", "2-char"),
    ("物业", "2-char"),
    ("噪音", "2-char"),
    ("电梯维修", "phrase"),
    ("水", "1-char"),
]
RUNS = 30
RESIDENTS = 8
RECENT_POSTS = 40  # the mix opens any of a compound's 40 newest posts
SECTION_DEPTH = 50  # the "section page 50 deep" row: 50 pages of 加载更多 down
STAFF_NODES = 100  # each staff page row loads up to this many of its pages, spread over the district


def busiest_compounds(limit: int) -> list[Compound]:
    return list(db.session.scalars(sa.select(Compound).order_by(Compound.post_count.desc()).limit(limit)))


def resident_of(compound: Compound) -> User:
    return db.session.scalar(
        sa.select(User).where(User.compound_id == compound.id, User.resident_status == ResidentStatus.VERIFIED).limit(1)
    )


def staff(role: StaffRole) -> tuple[User, StaffAssignment]:
    assignment = db.session.scalar(sa.select(StaffAssignment).where(StaffAssignment.role == role).limit(1))
    return db.session.get(User, assignment.user_id), assignment


def timed(function, runs: int) -> tuple[float, float, object]:
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return round(statistics.median(samples), 2), round(samples[int(0.95 * (len(samples) - 1))], 2), result


def exact(hits, needle: str) -> int:
    """Every hit contains the text; returns how many were checked."""
    for hit in hits:
        text = (hit.reply.body if hit.reply else f"{hit.post.title}\n{hit.post.body}").lower()
        if needle not in text:
            raise SystemExit(f"search returned a document without {needle!r}")
    return len(hits)


def first_views(app, phone: str, password: str, pages: dict[str, str]) -> list[dict]:
    """Server-side time of a page nothing was kept for, by anyone: every cache is emptied before
    each load."""
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    client.post("/login", data={"csrf_token": token, "phone": phone, "password": password})

    def load(path):
        caching.clear()
        assert client.get(path).status_code == 200, path

    rows = []
    for page, path in pages.items():
        load(path)  # the cards, once
        p50, p95, _ = timed(lambda: load(path), RUNS)
        rows.append({"page": page, "p50_ms": p50, "p95_ms": p95})
    return rows


def minted_cookie(app, user: User) -> str:
    """The session cookie a sign-in gives ``user`` (sessions.start: Flask-Login's keys and the
    time last seen), signed as the server signs it. Not fresh, as after a remember-me sign-in."""
    data = {"_user_id": user.get_id(), "_fresh": False, SEEN: int(time.time())}
    value = app.session_interface.get_signing_serializer(app).dumps(data)
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def district_plan(app, users: int, writers: int, password: str) -> dict:
    """Residents spread over every compound (a few per compound, as many as ``users`` asks), each
    with a minted cookie; per compound its newest posts and its section page 50 deep; and
    ``writers`` other residents, with a known password, who reply during the run."""
    compounds = list(db.session.scalars(sa.select(Compound).where(Compound.post_count > 0).order_by(Compound.id)))
    per_compound = -(-users // len(compounds))
    matters = db.session.scalar(sa.select(Section).where(Section.key == "matters"))
    keys = [
        s.key for s in db.session.scalars(sa.select(Section).order_by(Section.sort_order)) if s.fields.value != "guide"
    ]
    readers, repliers, boards = [], [], []
    hashed = generate_password_hash(password, method="pbkdf2:sha256:1000")
    for index, compound in enumerate(compounds):
        people = list(
            db.session.scalars(
                sa.select(User)
                .where(
                    User.compound_id == compound.id,
                    User.resident_status == ResidentStatus.VERIFIED,
                    User.suspended_at.is_(None),
                    User.deleted_at.is_(None),
                    ~sa.exists().where(StaffAssignment.user_id == User.id),
                )
                .order_by(User.id)
                .limit(per_compound + 1)
            )
        )
        visible = (
            Post.compound_id == compound.id,
            Post.deleted_at.is_(None),
            Post.hidden_at.is_(None),
            Post.is_private.is_(False),
        )
        recent = list(
            db.session.scalars(
                sa.select(Post.id).where(*visible).order_by(Post.created_at.desc(), Post.id.desc()).limit(RECENT_POSTS)
            )
        )
        deep = db.session.execute(
            sa.select(Post.created_at, Post.id)
            .where(*visible, Post.section_id == matters.id)
            .order_by(Post.created_at.desc(), Post.id.desc())
            .offset(SECTION_DEPTH * app.config["PAGE_SIZE"] - 1)
            .limit(1)
        ).first()
        if not recent or len(people) < 2:
            continue
        board = len(boards)
        busy = db.session.scalar(sa.select(Post.id).where(*visible, Post.reply_count >= 50).limit(1))
        boards.append(
            {
                "compound_id": compound.id,
                "posts": recent,
                "busy_post": busy,
                "deep_section": f"/c/{compound.id}/s/matters?after={encode_cursor(*deep)}" if deep else None,
            }
        )
        if len(repliers) < writers and index % max(1, len(compounds) // writers) == 0:
            writer = people.pop()
            writer.password_hash = hashed
            # Only posts the writer may reply to (a 通知 takes no replies from residents).
            targets = [
                p.id
                for p in db.session.scalars(sa.select(Post).where(Post.id.in_(recent)))
                if can(writer, Action.REPLY, p)
            ]
            if targets:
                repliers.append({"phone": writer.phone, "board": board, "posts": targets})
        readers.extend({"cookie": minted_cookie(app, user), "board": board} for user in people[:per_compound])
    db.session.commit()
    return {"boards": boards, "readers": readers, "writers": repliers, "sections": keys}


def staff_pages(app, nodes: int = STAFF_NODES) -> dict[str, list[list[str]]]:
    """{row: [[path, cookie], …]}: each staff page of grids, the private line, the first-response
    queue and 我的工单, loaded by the role that works there, each staff member on their own node
    (a grid worker on their grid, a 书记 on their compound), up to ``nodes`` of them spread over the
    district. Cookies are minted as for the readers: hundreds of staff sign-ins would cost a scrypt
    hash apiece."""
    # A household of each grid whose file has visits: the page at its fullest.
    first_household = dict(
        db.session.execute(
            sa.select(GridBuilding.grid_id, sa.func.min(Household.id))
            .join(
                Household,
                sa.and_(Household.compound_id == GridBuilding.compound_id, Household.building == GridBuilding.building),
            )
            .join(HouseholdFile, HouseholdFile.household_id == Household.id)
            .where(HouseholdFile.last_visit_on.is_not(None))
            .group_by(GridBuilding.grid_id)
        ).all()
    )
    names_by_street = defaultdict(list)
    for street_id, name in db.session.execute(sa.select(Compound.street_id, Compound.name).order_by(Compound.id)):
        names_by_street[street_id].append(name)
    worker, secretary = StaffRole.GRID_WORKER, StaffRole.SECRETARY
    # (row, the role that works there, the paths one assignment of that role loads)
    pages = [
        ("grid page", worker, lambda a: [f"/grids/{a.grid_id}"]),
        ("grid month", worker, lambda a: [f"/grids/{a.grid_id}/month"]),
        ("grid posts", worker, lambda a: [f"/grids/{a.grid_id}/posts"]),
        ("grid cases", worker, lambda a: [f"/grids/{a.grid_id}/cases"]),
        (
            "household file",
            worker,
            lambda a: [f"/households/{first_household[a.grid_id]}"] if a.grid_id in first_household else [],
        ),
        ("compound grids", secretary, lambda a: [f"/c/{a.compound_id}/grids"]),
        ("street grids", StaffRole.GRID_STREET, lambda a: [f"/grids/street/{a.street_id}"]),
        ("district grids", StaffRole.GRID_DISTRICT, lambda a: [f"/grids/district/{a.district_id}"]),
        ("line inbox", secretary, lambda a: [f"/c/{a.compound_id}/line"]),
        ("first-response queue", secretary, lambda a: [f"/c/{a.compound_id}/awaiting"]),
        ("cases unsigned", secretary, lambda a: ["/cases?view=unsigned"]),
        ("cases mine", secretary, lambda a: ["/cases?view=mine"]),
        (
            "cases by compound",
            StaffRole.GRID_STREET,
            lambda a: [f"/cases?view=all&compound={quote(name)}" for name in names_by_street[a.street_id]],
        ),
    ]
    cookies: dict[int, str] = {}
    plan = {}
    for page, role, paths in pages:
        assignments = list(
            db.session.scalars(
                sa.select(StaffAssignment)
                .join(User, User.id == StaffAssignment.user_id)
                .where(StaffAssignment.role == role, User.active.is_(True))
                .order_by(StaffAssignment.id)
            )
        )
        targets = [(path, a.user) for a in assignments for path in paths(a)]
        step = max(1, len(targets) // nodes)
        plan[page] = [
            [path, cookies.setdefault(user.id, minted_cookie(app, user))] for path, user in targets[::step][:nodes]
        ]
    return plan


def main(password: str) -> None:
    app = create_app()
    with app.app_context():
        compounds = busiest_compounds(RESIDENTS)
        users = [resident_of(c) for c in compounds]
        street_user, street_assignment = staff(StaffRole.GRID_STREET)
        district_user, district_assignment = staff(StaffRole.GRID_DISTRICT)
        hashed = generate_password_hash(password, method="pbkdf2:sha256:1000")
        for user in [*users, street_user, district_user]:
            user.password_hash = hashed
        db.session.commit()

        residents = []
        for compound, user in zip(compounds, users, strict=False):
            busy = db.session.scalar(
                sa.select(Post.id)
                .where(
                    Post.compound_id == compound.id,
                    Post.reply_count >= 50,
                    Post.deleted_at.is_(None),
                    Post.hidden_at.is_(None),
                    Post.is_private.is_(False),
                )
                .limit(1)
            )
            residents.append({"phone": user.phone, "compound_id": compound.id, "busy_post_id": busy})

        rows = []
        district = db.session.get(District, district_assignment.district_id)
        for word, kind in WORDS:
            for scope_name, viewer, scope in (
                ("compound", users[0], compounds[0]),
                ("district", district_user, district),
            ):
                p50, p95, (_w, page) = timed(lambda: search.search(viewer, word, scope), RUNS)
                checked = exact(page.items, word)
                checked_misses = None
                if scope_name == "compound":  # recall: the newest matching documents (by id) by a plain scan
                    scan = db.session.scalars(
                        sa.select(SearchDocument.id)
                        .where(
                            SearchDocument.compound_id == scope.id,
                            SearchDocument.visible.is_(True),
                            SearchDocument.private_to.is_(None),
                            SearchDocument.text.contains(word),
                        )
                        .order_by(SearchDocument.id.desc())
                        .limit(20)
                    )
                    expected = list(scan)
                    found = [hit.document.id for hit in page.items]
                    checked_misses = len(set(expected) - set(found))
                rows.append(
                    {
                        "query": word,
                        "kind": kind,
                        "scope": scope_name,
                        "p50_ms": p50,
                        "p95_ms": p95,
                        "results_checked": checked,
                        "missed_by_index": checked_misses,
                    }
                )
        first = residents[0]
        pages = {"home feed": f"/c/{first['compound_id']}", "section page": f"/c/{first['compound_id']}/s/matters"}
        if first["busy_post_id"]:
            pages["post with 50 replies"] = f"/p/{first['busy_post_id']}"
        views = first_views(app, first["phone"], password, pages)
        users = int(os.environ.get("BENCH_USERS", "2000"))
        print(
            json.dumps(
                {
                    "district": district_plan(app, users, writers=20, password=password),
                    "staff_pages": staff_pages(app),
                    "first_views": views,
                    "residents": residents,
                    "street_staff": {"phone": street_user.phone, "street_id": street_assignment.street_id},
                    "district_staff": {"phone": district_user.phone, "district_id": district_assignment.district_id},
                    "search": rows,
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1])
