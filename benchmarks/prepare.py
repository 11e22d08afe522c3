"""Run by bench.py inside the app: choose the bench users (known password), the pages to load,
and time search server-side on this database, checking results against a substring scan."""
from __future__ import annotations

import json
import re
import statistics
import sys
import time

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from community_board import create_app
from community_board.accounts.models import ResidentStatus, User
from community_board.board import cached_parts
from community_board.board.models import Post
from community_board.compounds.models import (
    Compound,
    District,
    StaffAssignment,
    StaffRole,
)
from community_board.extensions import db
from community_board.search import services as search
from community_board.search.models import SearchDocument

WORDS = [("停水", "2-char"), ("电梯", "2-char"), ("物业", "2-char"), ("噪音", "2-char"), ("电梯维修", "phrase"),
         ("水", "1-char")]
RUNS = 30
RESIDENTS = 8


def busiest_compounds(limit: int) -> list[Compound]:
    return list(db.session.scalars(sa.select(Compound).order_by(Compound.post_count.desc()).limit(limit)))


def resident_of(compound: Compound) -> User:
    return db.session.scalar(sa.select(User).where(
        User.compound_id == compound.id, User.resident_status == ResidentStatus.VERIFIED).limit(1))


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
    """Server-side time of a page that nothing was kept for this viewer: the first look at a feed,
    section or post after the board changed (post cards, shared by all viewers, stay kept)."""
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    client.post("/login", data={"csrf_token": token, "phone": phone, "password": password})

    def load(path):
        cached_parts.forget_viewer_pages()
        assert client.get(path).status_code == 200, path

    rows = []
    for page, path in pages.items():
        load(path)  # the cards, once
        p50, p95, _ = timed(lambda: load(path), RUNS)
        rows.append({"page": page, "p50_ms": p50, "p95_ms": p95})
    return rows


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
        for compound, user in zip(compounds, users):
            busy = db.session.scalar(sa.select(Post.id).where(
                Post.compound_id == compound.id, Post.reply_count >= 50, Post.deleted_at.is_(None),
                Post.hidden_at.is_(None), Post.is_private.is_(False)).limit(1))
            residents.append({"phone": user.phone, "compound_id": compound.id, "busy_post_id": busy})

        rows = []
        district = db.session.get(District, district_assignment.district_id)
        for word, kind in WORDS:
            for scope_name, viewer, scope in (("compound", users[0], compounds[0]),
                                              ("district", district_user, district)):
                p50, p95, (_w, page) = timed(lambda: search.search(viewer, word, scope), RUNS)
                checked = exact(page.items, word)
                checked_misses = None
                if scope_name == "compound":  # recall: the newest matching documents (by id) by a plain scan
                    scan = db.session.scalars(
                        sa.select(SearchDocument.id).where(
                            SearchDocument.compound_id == scope.id, SearchDocument.visible.is_(True),
                            SearchDocument.private_to.is_(None), SearchDocument.text.contains(word))
                        .order_by(SearchDocument.id.desc()).limit(20))
                    expected = list(scan)
                    found = [hit.document.id for hit in page.items]
                    checked_misses = len(set(expected) - set(found))
                rows.append({"query": word, "kind": kind, "scope": scope_name, "p50_ms": p50, "p95_ms": p95,
                             "results_checked": checked, "missed_by_index": checked_misses})
        first = residents[0]
        pages = {"home feed": f"/c/{first['compound_id']}", "section page": f"/c/{first['compound_id']}/s/matters"}
        if first["busy_post_id"]:
            pages["post with 50 replies"] = f"/p/{first['busy_post_id']}"
        views = first_views(app, first["phone"], password, pages)
        print(json.dumps({
            "first_views": views,
            "residents": residents,
            "street_staff": {"phone": street_user.phone, "street_id": street_assignment.street_id},
            "district_staff": {"phone": district_user.phone, "district_id": district_assignment.district_id},
            "search": rows,
        }))


if __name__ == "__main__":
    main(sys.argv[1])
