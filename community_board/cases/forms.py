"""Case forms: shape only; the workflow rules live in services."""

from __future__ import annotations

from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import Form as PlainForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..formtools import CHOOSE_FROM_LIST, Form, at_most, in_calendar
from .models import Level, Priority, ReturnReason, Satisfaction


def int_or_blank(value):
    """A select whose first choice is "all" (blank); a value that is no number matches no choice."""
    if value in (None, ""):
        return ""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def optional_id(value) -> int | None:
    """A select's id, or None for its empty first option ("—")."""
    return int(value) if str(value).isascii() and str(value).isdigit() and len(str(value)) <= 10 else None


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FileCaseForm(Form):
    case_type = SelectField("案件类型", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    priority = RadioField(
        "紧急程度",
        choices=Priority.choices(),
        default=Priority.NORMAL.value,
        validators=[DataRequired("请选择紧急程度")],
    )
    departments = CheckboxListField(
        "派单部门（可多选，也可稍后派单）", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST
    )
    lead = SelectField(
        "主办部门（不选则为第一个勾选的部门）",
        coerce=optional_id,
        validators=[Optional()],
        invalid_choice_message=CHOOSE_FROM_LIST,
    )
    note = StringField("立案说明（居民可见，选填）", validators=[Optional(), at_most(200)])


class CaseStepForm(Form):
    """Every staff step on a case: the note residents see, an internal note, and the version seen."""

    version = HiddenField()
    public_note = TextAreaField("说明（居民可见）", validators=[Optional(), Length(max=500, message="最多500字")])
    internal_note = TextAreaField(
        "内部备注（居民看不到）", validators=[Optional(), Length(max=500, message="最多500字")]
    )
    departments = CheckboxListField("派单部门", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    photos = MultipleFileField("处置照片（选填）")
    # The steps of 主办/协办, 退单, 延期, 包案人 and 更正 (each verb reads the fields it needs).
    lead = SelectField("主办部门", coerce=optional_id, validators=[Optional()], invalid_choice_message=CHOOSE_FROM_LIST)
    department = SelectField(
        "协办部门", coerce=optional_id, validators=[Optional()], invalid_choice_message=CHOOSE_FROM_LIST
    )
    return_reason = RadioField("退单原因", choices=ReturnReason.choices(), validators=[Optional()])
    basis = TextAreaField("依据", validators=[Optional(), Length(max=200, message="最多200字")])
    new_deadline = DateTimeLocalField(
        "新的期限", format="%Y-%m-%dT%H:%M", validators=[Optional(), in_calendar], render_kw={"step": 60}
    )
    owner = SelectField("包案人", coerce=optional_id, validators=[Optional()], invalid_choice_message=CHOOSE_FROM_LIST)
    case_type = SelectField(
        "案件类型", coerce=optional_id, validators=[Optional()], invalid_choice_message=CHOOSE_FROM_LIST
    )
    priority = RadioField("紧急程度", choices=Priority.choices(), validators=[Optional()])


class RateForm(Form):
    satisfaction = RadioField(
        "您对处理结果满意吗？",
        choices=[c for c in Satisfaction.choices() if c.value != Satisfaction.UNRATED.value],
        validators=[DataRequired("请选择满意度")],
    )
    comment = TextAreaField("说说您的看法（选填）", validators=[Optional(), Length(max=200, message="最多200字")])


class CaseTypeForm(Form):
    name = StringField("类型名称", validators=[DataRequired("请填写类型名称"), at_most(20)])


class InboxFilterForm(PlainForm):
    """我的工单's filters: read from the query string (a GET: no CSRF token, nothing changes)."""

    number = StringField("工单编号", validators=[Optional(), at_most(24)])
    compound = StringField("居民区", validators=[Optional(), at_most(40)])
    case_type = SelectField(
        "案件类型", coerce=int_or_blank, validators=[Optional()], invalid_choice_message=CHOOSE_FROM_LIST
    )
    level = SelectField(
        "当前层级",
        choices=[SelectChoice("", "全部层级"), *Level.choices()],
        validators=[Optional()],
        invalid_choice_message=CHOOSE_FROM_LIST,
    )


class PeriodForm(PlainForm):
    """A dashboard's date range (filing dates, Shanghai days); read from the query string."""

    start = DateField("起", validators=[Optional(), in_calendar], format="%Y-%m-%d")
    end = DateField("止", validators=[Optional(), in_calendar], format="%Y-%m-%d")

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError("结束日期不能早于开始日期")


class CalendarDayForm(Form):
    day = DateField("日期", validators=[DataRequired("请选择日期"), in_calendar])
    kind = RadioField(
        "这一天",
        choices=[SelectChoice("off", "放假（法定节假日）"), SelectChoice("work", "上班（调休）")],
        default="off",
        validators=[DataRequired("请选择放假还是上班")],
    )
    note = StringField("说明（选填）", validators=[Optional(), at_most(40)])
