"""私信居委会: a message is a private Post in the section whose fields are PRIVATE_LINE (see
docs/private-line.md); its place in the shared inbox follows from its columns."""

from __future__ import annotations

import sqlalchemy as sa

from ..board.models import Post
from ..enums import LabeledEnum


class LineStatus(LabeledEnum):
    """The inbox tabs. 待处理 means no staff response yet (``responses.services`` defines it)."""

    WAITING = ("waiting", "待处理")
    HANDLING = ("handling", "处理中")
    CLOSED = ("closed", "已结束")

    @classmethod
    def of(cls, post: Post) -> LineStatus:
        if post.line_closed_at is not None:
            return cls.CLOSED
        return cls.WAITING if post.first_response_at is None else cls.HANDLING

    @property
    def condition(self):
        """SQL form of ``of``: closing is a response, so a closed message is never waiting."""
        if self is LineStatus.WAITING:
            return Post.first_response_at.is_(None)
        if self is LineStatus.HANDLING:
            return sa.and_(Post.first_response_at.is_not(None), Post.line_closed_at.is_(None))
        return Post.line_closed_at.is_not(None)

    @property
    def resident_label(self) -> str:
        """What the writer reads: the 居委会 as one, never who in it."""
        return {
            LineStatus.WAITING: "已送达居委会，等待处理",
            LineStatus.HANDLING: "居委会正在处理",
            LineStatus.CLOSED: "居委会已处理完毕",
        }[self]
