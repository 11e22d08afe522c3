"""Board reads: feeds, a post with its replies, the report queue. Each costs a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import defer, joinedload, selectinload

from ..accounts.models import User
from ..audit import AuditEntry
from ..compounds.models import Compound
from ..extensions import db
from ..pagination import Page, keyset_page
from ..permissions import Action, Decision, PermissionDenied, can, require
from . import visibility
from .models import Like, Photo, Post, Reply, Report, ReportStatus, Section, SectionFields, TradeStatus

PINNED_LIMIT = 5
THUMBS_PER_CARD = 3


@dataclass
class Feed:
    """A page of posts with what their cards show, loaded in one query each."""

    page: Page[Post]
    thumbs: dict[int, list[Photo]] = field(default_factory=dict)


_ON_BOARD = Section.fields != SectionFields.PRIVATE_LINE


def sections() -> list[Section]:
    """The board's sections (私信居委会 has its own inbox, never a section page)."""
    return list(db.session.scalars(sa.select(Section).where(_ON_BOARD).order_by(Section.sort_order, Section.id)))


def section_by_key(key: str) -> Section:
    section = db.session.scalar(sa.select(Section).where(Section.key == key, _ON_BOARD))
    if section is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    return section


def _visible_posts(viewer, compound: Compound):
    stmt = sa.select(Post).where(
        Post.compound_id == compound.id,
        visibility.in_circulation_sql(hidden_too=can(viewer, Action.MODERATE, compound)),
        visibility.reads_private_sql(viewer, visibility.private_kinds_read(viewer, compound)),
        visibility.on_board_sql(),
    )
    # A card shows the excerpt, never the body: leave the long text in the database.
    return stmt.options(
        joinedload(Post.author), defer(Post.body, raiseload=True), defer(Post.body_html, raiseload=True)
    )


def _thumbs(posts: list[Post]) -> dict[int, list[Photo]]:
    """The cards' thumbnails. (The viewer's likes are a marker on the shared page: cached_parts.)"""
    thumbs: dict[int, list[Photo]] = defaultdict(list)
    with_photos = [p.id for p in posts if p.photo_count]
    if with_photos:
        for photo in db.session.scalars(
            sa.select(Photo)
            .where(Photo.post_id.in_(with_photos), Photo.position < THUMBS_PER_CARD)
            .order_by(Photo.post_id, Photo.position)
        ):
            thumbs[photo.post_id].append(photo)
    return thumbs


def liked_by(viewer, post_ids: list[int]) -> set[int]:
    return set(db.session.scalars(sa.select(Like.post_id).where(Like.user_id == viewer.id, Like.post_id.in_(post_ids))))


def feed(
    viewer,
    compound: Compound,
    cursor: str | None,
    limit: int,
    section: Section | None = None,
    only_available: bool = False,
) -> Feed:
    """Newest first. The home feed shows pinned posts at the top of its first page (and not again
    below); a section page keeps every post in date order."""
    stmt = _visible_posts(viewer, compound)
    pinned: list[Post] = []
    if section is None:
        # The newest pins lead the first page; older pins (past the limit) stay in date order below.
        pinned = list(
            db.session.scalars(
                stmt.where(Post.pinned_at.is_not(None)).order_by(Post.pinned_at.desc()).limit(PINNED_LIMIT)
            )
        )
        if pinned:
            stmt = stmt.where(Post.id.not_in([p.id for p in pinned]))
        if cursor is not None:
            pinned = []
    else:
        stmt = stmt.where(Post.section_id == section.id)
        if only_available:
            stmt = stmt.where(Post.trade_status == TradeStatus.AVAILABLE)
    page = keyset_page(stmt, Post, cursor, limit)
    page.items = pinned + page.items
    return Feed(page, _thumbs(page.items))


GUIDE_LIMIT = 200  # a compound's guide is a bounded library, not a stream


def guide_articles(compound: Compound, section: Section) -> list[Post]:
    """办事指南: this compound's articles and those shared by any compound of its street, by topic."""
    return list(
        db.session.scalars(
            sa.select(Post)
            .where(
                Post.section_id == section.id,
                Post.deleted_at.is_(None),
                Post.hidden_at.is_(None),
                sa.or_(
                    Post.compound_id == compound.id,
                    sa.and_(Post.street_id == compound.street_id, Post.shared_with_street.is_(True)),
                ),
            )
            .order_by(Post.topic, Post.title, Post.id)
            .limit(GUIDE_LIMIT)
        )
    )


def get_post_for(viewer, post_id: int, action: Action = Action.VIEW_POST, *, for_update: bool = False) -> Post:
    """The post if ``viewer`` may do ``action`` on it: 404 outside their compound or when deleted.
    ``for_update`` locks the row until commit, so two moderators cannot both pass a state check."""
    post = db.session.get(Post, post_id, with_for_update=for_update)
    if post is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(viewer, action, post)
    return post


def get_reply_for(viewer, post: Post, reply_id: int | None) -> Reply | None:
    if reply_id is None:
        return None
    reply = db.session.get(Reply, reply_id)
    if reply is None or reply.post_id != post.id or reply.deleted_at is not None:
        raise PermissionDenied(Decision.NOT_FOUND)
    return reply


def replies(post: Post, cursor: str | None, limit: int) -> Page[Reply]:
    """Oldest first, WeChat-style: the newest reply is last."""
    stmt = (
        sa.select(Reply)
        .where(Reply.post_id == post.id, Reply.deleted_at.is_(None))
        # Each reply names one author and answers at most one reply: joined, in the page's one query.
        .options(joinedload(Reply.author), joinedload(Reply.reply_to).joinedload(Reply.author))
    )
    return keyset_page(stmt, Reply, cursor, limit, newest_first=False)


def photos(post: Post) -> list[Photo]:
    return list(db.session.scalars(sa.select(Photo).where(Photo.post_id == post.id).order_by(Photo.position)))


def users_by_id(ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


def open_reports(viewer, compound: Compound, cursor: str | None, limit: int) -> Page[Report]:
    stmt = (
        sa.select(Report)
        .where(Report.compound_id == compound.id, Report.status == ReportStatus.OPEN)
        .options(selectinload(Report.post), selectinload(Report.reply), selectinload(Report.reporter))
    )
    if not _reads_every_private_post(viewer, compound):
        stmt = stmt.where(Report.post_id.not_in(sa.select(Post.id).where(_unreadable_private(viewer, compound))))
    return keyset_page(stmt, Report, cursor, limit, newest_first=False)


def post_titles(ids: set[int]) -> dict[int, str]:
    """Titles for the posts a moderation log page mentions, in one query."""
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Post.id, Post.title).where(Post.id.in_(ids))).all())


def _reads_every_private_post(viewer, compound: Compound) -> bool:
    return visibility.private_kinds_read(viewer, compound) >= visibility.PRIVATE_READING.keys()


def _unreadable_private(viewer, compound: Compound):
    """SQL: the compound's private posts (questions to the police, messages to the 居委会) ``viewer`` may not read."""
    kinds = visibility.private_kinds_read(viewer, compound)
    return sa.and_(Post.compound_id == compound.id, sa.not_(visibility.reads_private_sql(viewer, kinds)))


def moderation_log(viewer, compound: Compound, cursor: str | None, limit: int) -> Page[AuditEntry]:
    """管理记录: entries about a private post are left out for staff who may not read it."""
    stmt = sa.select(AuditEntry).where(AuditEntry.compound_id == compound.id).options(selectinload(AuditEntry.actor))
    if not _reads_every_private_post(viewer, compound):
        unreadable = sa.select(Post.id).where(_unreadable_private(viewer, compound))
        stmt = stmt.where(
            sa.not_(sa.and_(AuditEntry.target_type == Post.__tablename__, AuditEntry.target_id.in_(unreadable))),
            sa.not_(
                sa.and_(
                    AuditEntry.target_type == Reply.__tablename__,
                    AuditEntry.target_id.in_(
                        sa.select(Reply.id)
                        .join(Post, Post.id == Reply.post_id)
                        .where(_unreadable_private(viewer, compound))
                    ),
                )
            ),
        )
    return keyset_page(stmt, AuditEntry, cursor, limit)


@dataclass
class Contributions:
    """What a neighbour did for others: 互助 they were thanked for, answers marked helpful."""

    thanked: list[Post]
    thanked_count: int
    helpful: list[Reply]
    helpful_count: int


def _public_post():
    return sa.and_(Post.deleted_at.is_(None), Post.hidden_at.is_(None), Post.is_private.is_(False))


def contributions(member, limit: int = 20) -> Contributions:
    thanked = sa.select(Post).where(Post.thanked_user_id == member.id, _public_post())
    helpful = (
        sa.select(Reply)
        .join(Post, Post.id == Reply.post_id)
        .where(
            Reply.author_id == member.id,
            Reply.helpful.is_(True),
            Reply.deleted_at.is_(None),
            Reply.hidden_at.is_(None),
            _public_post(),
        )
    )
    return Contributions(
        list(db.session.scalars(thanked.order_by(Post.created_at.desc()).limit(limit))),
        db.session.scalar(sa.select(sa.func.count()).select_from(thanked.subquery())),
        list(
            db.session.scalars(helpful.options(selectinload(Reply.post)).order_by(Reply.created_at.desc()).limit(limit))
        ),
        db.session.scalar(sa.select(sa.func.count()).select_from(helpful.subquery())),
    )


def asked_privately(viewer, compound: Compound) -> bool:
    """Whether ``viewer`` has a private question on this board (their feed shows it to them alone)."""
    return (
        db.session.scalar(
            sa.select(sa.literal(True))
            .where(
                Post.author_id == viewer.id,
                Post.compound_id == compound.id,
                Post.is_private.is_(True),
                Post.deleted_at.is_(None),
                visibility.on_board_sql(),
            )
            .limit(1)
        )
        is True
    )
