"""Who may see a post: one definition, its Python form (a post in hand) beside its SQL form (a
list, the search index). Pages, lists, the moderation log, search and the indexer all use these.

- In circulation: neither deleted nor hidden. Lists and search show only posts in circulation;
  moderators also list hidden ones. A hidden post's page still opens and shows its reason; a deleted
  post's page opens for the moderators of its own compound only.
- A private post exists only for its author and the readers its section names (``PRIVATE_READING``):
  a private question (警民直通车 私下提问) for the compound's police and secretary, a message to the
  居委会 (私信居委会) for the compound's secretary and committee.
- On the board: 私信居委会 is no board section; its messages never show in a feed or section page.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..compounds.models import StaffRole
from ..permissions import STAFF_RIGHTS, Action, can
from .models import Post, Section, SectionFields

MODERATORS = frozenset({StaffRole.SECRETARY, StaffRole.COMMITTEE})
# Who reads a section's private posts besides their authors: the staff roles of the action
# (permissions.STAFF_RIGHTS), by the kind of section.
PRIVATE_READING = {
    SectionFields.POLICE: Action.READ_PRIVATE_QUESTIONS,  # 私下提问: police and secretary
    SectionFields.PRIVATE_LINE: Action.READ_PRIVATE_LINE,  # 私信居委会: secretary and committee
}


# In circulation --------------------------------------------------------------------------------


def in_circulation(post) -> bool:
    """Python form: ``post`` is a Post or a Reply."""
    return post.deleted_at is None and post.hidden_at is None


def in_circulation_sql(table=Post, *, hidden_too: bool = False):
    """SQL form over any table with deleted_at and hidden_at; ``hidden_too`` for moderators' lists."""
    if hidden_too:
        return table.deleted_at.is_(None)
    return sa.and_(table.deleted_at.is_(None), table.hidden_at.is_(None))


# Private posts -----------------------------------------------------------------------------------


def private_readers(section: Section) -> frozenset[StaffRole]:
    action = PRIVATE_READING.get(section.fields)
    return STAFF_RIGHTS[action] if action else frozenset()


def reads_private(post: Post, user, roles: frozenset[StaffRole]) -> bool:
    """Python form: ``roles`` are the user's staff roles over the post's compound."""
    return not post.is_private or post.author_id == user.id or bool(roles & private_readers(post.section))


def private_kinds_read(viewer, compound) -> frozenset[SectionFields]:
    """The kinds of section whose private posts ``viewer`` reads in ``compound`` (for the SQL form)."""
    return frozenset(kind for kind, action in PRIVATE_READING.items() if can(viewer, action, compound))


def reads_private_sql(
    viewer,
    kinds_read: frozenset[SectionFields],
    *,
    is_private=Post.is_private,
    author_id=Post.author_id,
    section_id=Post.section_id,
):
    """SQL form. ``kinds_read``: ``private_kinds_read(viewer, compound)``. The columns default to the
    posts table's; the search index passes its own."""
    if kinds_read >= PRIVATE_READING.keys():
        return sa.true()
    readable = [sa.not_(is_private), author_id == viewer.id]
    if kinds_read:
        readable.append(section_id.in_(sa.select(Section.id).where(Section.fields.in_(kinds_read))))
    return sa.or_(*readable)


def on_board_sql(section_id=Post.section_id):
    """SQL: posts of board sections (not 私信居委会)."""
    return section_id.not_in(sa.select(Section.id).where(Section.fields == SectionFields.PRIVATE_LINE))


def private_to(post: Post) -> int | None:
    """What the search index keeps of a post's privacy: the asker's id, or None when public."""
    return post.author_id if post.is_private else None


# A post's page -------------------------------------------------------------------------------------


def may_open(post: Post, user, roles: frozenset[StaffRole]) -> bool:
    """Deleted posts are gone for everyone but the moderators of its compound; a private question
    exists only for its readers. (Hidden posts open, showing their reason.)"""
    if post.deleted_at is not None and not roles & MODERATORS:
        return False
    return reads_private(post, user, roles)
