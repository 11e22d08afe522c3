"""议题 forms."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    TextAreaField,
)
from wtforms.validators import DataRequired, NumberRange, Optional

from ..board.forms import PostForm
from ..formtools import CHOOSE_FROM_LIST, Form, at_most, in_calendar
from .models import Electorate, Outcome


class ProposalForm(PostForm):
    options = TextAreaField("选项（每行一个，留空则为 赞成/反对/弃权）", validators=[Optional(), at_most(400)])
    electorate = RadioField(
        "谁可以投票",
        choices=Electorate.choices(),
        default=Electorate.RESIDENTS.value,
        validators=[DataRequired("请选择投票方式")],
        invalid_choice_message=CHOOSE_FROM_LIST,
    )
    deadline = DateTimeLocalField(
        "截止时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("请选择截止时间"), in_calendar]
    )
    show_tally_early = BooleanField("截止前公开实时票数")
    turnout_threshold = IntegerField(
        "参与率门槛 %（选填）", validators=[Optional(), NumberRange(1, 100, "请填写1到100之间的数字")]
    )


class VoteForm(Form):
    option = RadioField("我的选择", coerce=int, validate_choice=False, validators=[DataRequired("请选择一个选项")])


class OutcomeForm(Form):
    outcome = RadioField("结果", choices=Outcome.choices(), validators=[DataRequired("请选择结果")])
    note = TextAreaField("决议内容", validators=[DataRequired("请写明决议内容"), at_most(1000)])


class NoteForm(Form):
    body = TextAreaField("补充说明", validators=[DataRequired("请填写补充说明"), at_most(500)])
