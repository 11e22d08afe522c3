"""警民直通车: bulletins to every compound an officer serves, private questions, the answer queue."""

from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..board import services as board_services
from ..board.models import AuthorRole, BulletinKind, Post, Section
from ..compounds.models import Compound, StaffRole
from ..errors import ValidationError
from ..extensions import db
from ..pagination import Page, keyset_page


def served_compounds(officer) -> list[Compound]:
    ids = [a.compound_id for a in officer.assignments if a.role is StaffRole.POLICE and a.compound_id]
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Compound).where(Compound.id.in_(ids)).order_by(Compound.id)))


def publish_bulletin(officer, section: Section, kind: BulletinKind, draft) -> list[Post]:
    """警情通报: one post in the police section of every compound the officer serves."""
    compounds = served_compounds(officer)
    if not compounds:
        raise ValidationError("只有社区民警可以发布警情通报")
    posts = []
    for compound in compounds:
        post = board_services.create_post(officer, compound, section, draft)
        post.bulletin_kind = kind
        posts.append(post)
    return posts


def ask_question(resident, compound: Compound, section: Section, draft, private: bool) -> Post:
    """A question from a resident; a private one is seen only by the asker, the police and the secretary."""
    post = board_services.create_post(resident, compound, section, draft)
    post.is_private = private
    return post


def unanswered_questions(officer, cursor: str | None, limit: int) -> Page[Post]:
    """The officer's queue: questions no officer has answered yet, across their compounds, oldest first."""
    ids = [c.id for c in served_compounds(officer)]
    stmt = (
        sa.select(Post)
        .join(Post.section)
        .where(
            Post.compound_id.in_(ids),
            Section.key == "police",
            Post.author_role == AuthorRole.RESIDENT,
            Post.first_answer_at.is_(None),
            Post.deleted_at.is_(None),
            Post.hidden_at.is_(None),
        )
        .options(selectinload(Post.author), selectinload(Post.compound))
    )
    return keyset_page(stmt, Post, cursor, limit, newest_first=False)


def median_first_answer_minutes(compound: Compound) -> int | None:
    """How fast police answer questions in this compound (nearest-rank median, in SQL)."""
    answered = sa.and_(
        Post.compound_id == compound.id,
        Post.first_answer_minutes.is_not(None),
        Post.deleted_at.is_(None),
        Post.hidden_at.is_(None),
    )
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Post).where(answered))
    if not count:
        return None
    return db.session.scalar(
        sa.select(Post.first_answer_minutes)
        .where(answered)
        .order_by(Post.first_answer_minutes)
        .offset(math.ceil(count / 2) - 1)
        .limit(1)
    )
