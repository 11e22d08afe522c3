"""警民直通车 forms."""

from __future__ import annotations

from wtforms import BooleanField, RadioField

from ..board.forms import PostForm
from ..board.models import BulletinKind


class BulletinForm(PostForm):
    kind = RadioField("通报类型", choices=BulletinKind.choices(), default=BulletinKind.FRAUD.value)


class QuestionForm(PostForm):
    private = BooleanField("私下提问（只有民警和书记能看到）")
