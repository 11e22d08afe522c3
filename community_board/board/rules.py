"""Board object rules for ``permissions.authorize``: authorship, the edit window, locks, sections.

``RULES`` at the end is the table the board's init_app declares; who may see a post is
``visibility``'s one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..compounds.models import Compound, StaffRole
from ..permissions import Action, Decision, ObjectRule
from ..timeutil import utcnow
from . import visibility
from .models import Post, Section, SectionFields

EDIT_WINDOW = timedelta(hours=24)
OFFICIAL_POSTERS = frozenset({StaffRole.SECRETARY, StaffRole.COMMITTEE})
MODERATORS = visibility.MODERATORS


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


def _may_post(user, target, roles) -> Decision:
    if isinstance(target, SectionBoard) and target.section.staff_only:
        return _decide(bool(roles & OFFICIAL_POSTERS))
    return Decision.ALLOW


def visible(user, post: Post, roles) -> Decision:
    """NOT_FOUND for whoever may not open the post (``visibility.may_open``)."""
    return Decision.ALLOW if visibility.may_open(post, user, roles) else Decision.NOT_FOUND


def _may_report(user, post: Post, roles) -> Decision:
    if post.author_id == user.id:
        return Decision.FORBIDDEN
    return _may_interact(user, post, roles)


def _may_interact(user, post: Post, roles) -> Decision:
    if visible(user, post, roles) is Decision.NOT_FOUND:
        return Decision.NOT_FOUND
    if post.is_deleted or post.is_hidden:
        return Decision.FORBIDDEN
    if post.locked and not roles & MODERATORS:
        return Decision.FORBIDDEN
    return Decision.ALLOW


def _is_author(user, post: Post) -> bool:
    return post.author_id == user.id and not post.is_deleted and not post.is_hidden


def _may_edit(user, post: Post, roles) -> Decision:
    return _decide(_is_author(user, post) and utcnow() - post.created_at <= EDIT_WINDOW)


def _may_delete(user, post: Post, roles) -> Decision:
    return _decide(_is_author(user, post))


def _may_set_status(user, post: Post, roles) -> Decision:
    has_status = post.section.fields in (SectionFields.SECOND_HAND, SectionFields.MUTUAL_AID)
    return _decide(has_status and _is_author(user, post))


def _may_mark_helpful(user, post: Post, roles) -> Decision:
    """The asker marks which answers helped (they count on the helper's profile)."""
    return _decide(_is_author(user, post))


def _on_board(rule: ObjectRule) -> ObjectRule:
    """A message to the 居委会 (私信居委会) is answered and filed as a case, never liked, reported,
    edited, deleted or voted on: those verbs are the board's."""

    def checked(user, post: Post, roles) -> Decision:
        if isinstance(post, Post) and not post.section.on_board:
            return Decision.FORBIDDEN
        return rule(user, post, roles)

    return checked


# Declared to permissions.authorize by the board's init_app: action → (rule, what its 403 says).
RULES: dict[Action, tuple[ObjectRule, str]] = {
    Action.POST: (_may_post, "这个版块只有居委会可以发布。"),
    Action.VIEW_POST: (visible, "这条内容已被隐藏。"),
    Action.REPORT: (_on_board(_may_report), "不能举报自己的帖子，已隐藏或已关闭回复的帖子也不能再举报。"),
    Action.EDIT_POST: (_on_board(_may_edit), "只有作者可以在发布后24小时内修改帖子。"),
    Action.DELETE_POST: (_on_board(_may_delete), "只有作者可以删除自己的帖子。"),
    Action.SET_POST_STATUS: (_on_board(_may_set_status), "只有发布者可以修改闲置或互助的状态。"),
    Action.MARK_HELPFUL: (_on_board(_may_mark_helpful), "只有提问的居民可以标记有用的回答。"),
    Action.REPLY: (_may_interact, "这条帖子已关闭回复或已被隐藏，不能再回复、点赞或投票。"),
    **dict.fromkeys(
        (Action.LIKE, Action.VOTE, Action.RECORD_OUTCOME),
        (_on_board(_may_interact), "这条帖子已关闭回复或已被隐藏，不能再回复、点赞或投票。"),
    ),
}
