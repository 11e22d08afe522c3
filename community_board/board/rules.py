"""Board object rules for ``permissions.authorize``: authorship, the edit window, locks, sections.

Registered when the board package is imported; ``authorize`` calls them after the role check.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..compounds.models import Compound, StaffRole
from ..permissions import Action, Decision, object_rule
from ..timeutil import utcnow
from .models import Post, Section, SectionFields

EDIT_WINDOW = timedelta(hours=24)
OFFICIAL_POSTERS = frozenset({StaffRole.SECRETARY, StaffRole.COMMITTEE})
MODERATORS = frozenset({StaffRole.SECRETARY, StaffRole.COMMITTEE})


@dataclass(frozen=True)
class SectionBoard:
    """A section of one compound's board: the target of Action.POST."""

    compound: Compound
    section: Section

    @property
    def scope(self):
        return self.compound.scope


def _decide(allowed: bool) -> Decision:
    return Decision.ALLOW if allowed else Decision.FORBIDDEN


@object_rule(Action.POST, why="这个版块只有居委会可以发布。")
def _may_post(user, target, roles) -> Decision:
    if isinstance(target, SectionBoard) and target.section.staff_only:
        return _decide(bool(roles & OFFICIAL_POSTERS))
    return Decision.ALLOW


PRIVATE_READERS = frozenset({StaffRole.POLICE, StaffRole.SECRETARY})


def _visible(post: Post, user, roles) -> Decision:
    """Deleted posts are gone for everyone but moderators; hidden ones show their reason only;
    a private question exists only for its asker, the police and the secretary."""
    if post.is_deleted and not roles & MODERATORS:
        return Decision.NOT_FOUND
    if post.is_private and post.author_id != user.id and not roles & PRIVATE_READERS:
        return Decision.NOT_FOUND
    return Decision.ALLOW


@object_rule(Action.VIEW_POST, why="这条内容已被隐藏。")
def _may_view(user, post: Post, roles) -> Decision:
    return _visible(post, user, roles)


@object_rule(Action.REPORT, why="不能举报自己的帖子，已隐藏或已关闭回复的帖子也不能再举报。")
def _may_report(user, post: Post, roles) -> Decision:
    if post.author_id == user.id:
        return Decision.FORBIDDEN
    return _may_interact(user, post, roles)


@object_rule(Action.REPLY, Action.LIKE, Action.VOTE, Action.RECORD_OUTCOME,
             why="这条帖子已关闭回复或已被隐藏，不能再回复、点赞或投票。")
def _may_interact(user, post: Post, roles) -> Decision:
    if _visible(post, user, roles) is Decision.NOT_FOUND:
        return Decision.NOT_FOUND
    if post.is_deleted or post.is_hidden:
        return Decision.FORBIDDEN
    if post.locked and not roles & MODERATORS:
        return Decision.FORBIDDEN
    return Decision.ALLOW


def _is_author(user, post: Post) -> bool:
    return post.author_id == user.id and not post.is_deleted and not post.is_hidden


@object_rule(Action.EDIT_POST, why="只有作者可以在发布后24小时内修改帖子。")
def _may_edit(user, post: Post, roles) -> Decision:
    return _decide(_is_author(user, post) and utcnow() - post.created_at <= EDIT_WINDOW)


@object_rule(Action.DELETE_POST, why="只有作者可以删除自己的帖子。")
def _may_delete(user, post: Post, roles) -> Decision:
    return _decide(_is_author(user, post))


@object_rule(Action.SET_POST_STATUS, why="只有发布者可以修改闲置或互助的状态。")
def _may_set_status(user, post: Post, roles) -> Decision:
    has_status = post.section.fields in (SectionFields.SECOND_HAND, SectionFields.MUTUAL_AID)
    return _decide(has_status and _is_author(user, post))


@object_rule(Action.MARK_HELPFUL, why="只有提问的居民可以标记有用的回答。")
def _may_mark_helpful(user, post: Post, roles) -> Decision:
    """The asker marks which answers helped (they count on the helper's profile)."""
    return _decide(_is_author(user, post))
