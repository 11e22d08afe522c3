"""Who may see a post: one definition, its Python form (a post in hand) beside its SQL form (a
list, the search index). Pages, lists, the moderation log, search and the indexer all use these.

- In circulation: neither deleted nor hidden. Lists and search show only posts in circulation;
  moderators also list hidden ones. A hidden post's page still opens and shows its reason; a deleted
  post's page opens for the moderators of its own compound only.
- Private questions (警民直通车 私下提问) exist only for the asker and the PRIVATE_READERS of the compound.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..compounds.models import StaffRole
from .models import Post

MODERATORS = frozenset({StaffRole.SECRETARY, StaffRole.COMMITTEE})
PRIVATE_READERS = frozenset({StaffRole.POLICE, StaffRole.SECRETARY})


# In circulation --------------------------------------------------------------------------------


def in_circulation(post) -> bool:
    """Python form: ``post`` is a Post or a Reply."""
    return post.deleted_at is None and post.hidden_at is None


def in_circulation_sql(table=Post, *, hidden_too: bool = False):
    """SQL form over any table with deleted_at and hidden_at; ``hidden_too`` for moderators' lists."""
    if hidden_too:
        return table.deleted_at.is_(None)
    return sa.and_(table.deleted_at.is_(None), table.hidden_at.is_(None))


# Private questions -------------------------------------------------------------------------------


def reads_private(post: Post, user, roles: frozenset[StaffRole]) -> bool:
    """Python form: ``roles`` are the user's staff roles over the post's compound."""
    return not post.is_private or post.author_id == user.id or bool(roles & PRIVATE_READERS)


def reads_private_sql(viewer, private_reader: bool, *, is_private=Post.is_private, author_id=Post.author_id):
    """SQL form. ``private_reader``: the viewer holds a PRIVATE_READERS role over the compound (ask
    ``can(viewer, Action.READ_PRIVATE_QUESTIONS, compound)``). The columns default to the posts
    table's; the search index passes its own."""
    if private_reader:
        return sa.true()
    return sa.or_(sa.not_(is_private), author_id == viewer.id)


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
