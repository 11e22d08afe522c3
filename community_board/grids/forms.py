"""Grid and household-file forms: shape only; the rules live in services."""

from __future__ import annotations

from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..cases.forms import CheckboxListField
from ..cases.models import Priority
from ..formtools import CHOOSE_FROM_LIST, Form, at_most, strip
from .models import GridDuty, Tenure, VisitKind


class GridForm(Form):
    name = StringField("网格名称", validators=[DataRequired("请填写网格名称"), at_most(20)], filters=[strip])


class BuildingsForm(Form):
    buildings = StringField(
        "楼号", validators=[DataRequired("请填写楼号，如 1-6, 9, 12"), at_most(200)], filters=[strip]
    )


class PublicPhoneForm(Form):
    public_phone = StringField("工作电话", validators=[Optional(), at_most(20)], filters=[strip])


class GridMemberForm(Form):
    duty = SelectField("职责", choices=GridDuty.choices(), invalid_choice_message=CHOOSE_FROM_LIST)
    phone = StringField("手机号", validators=[DataRequired("请填写手机号")], filters=[strip])


class HouseholdForm(Form):
    """A household nobody registered: its address in the grid."""

    building = StringField("楼号", validators=[DataRequired("请填写楼号")], filters=[strip])
    unit = StringField("单元", validators=[Optional()], filters=[strip])
    room = StringField("室号", validators=[DataRequired("请填写室号")], filters=[strip])


class HouseholdFileForm(Form):
    tenure = SelectField(
        "居住类型",
        choices=[SelectChoice("", "未登记"), *Tenure.choices()],
        invalid_choice_message=CHOOSE_FROM_LIST,
    )
    # Never filled in with the phone on file: the edit page shows it masked, like the file itself.
    contact_phone = StringField("新的联系电话", validators=[Optional(), at_most(20)], filters=[strip])
    clear_phone = BooleanField("删除已登记的联系电话")


class MemberForm(Form):
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), at_most(20)], filters=[strip])
    relation = StringField("关系", validators=[DataRequired("请填写关系"), at_most(10)], filters=[strip])


class CareTagsForm(Form):
    tags = CheckboxListField("关爱标签", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)


class CareTagForm(Form):
    name = StringField("标签名称", validators=[DataRequired("请填写标签名称"), at_most(20)], filters=[strip])


class VisitForm(Form):
    visited_on = DateField("日期", validators=[DataRequired("请选择日期")])
    kind = RadioField("方式", choices=VisitKind.choices(), default=VisitKind.VISIT.value)
    met = StringField("见到/通话的人", validators=[Optional(), at_most(20)], filters=[strip])
    raised = TextAreaField(
        "反映的情况", validators=[DataRequired("请填写居民反映的情况"), Length(max=500, message="最多500字")]
    )
    follow_up = TextAreaField("后续跟进", validators=[Optional(), Length(max=500, message="最多500字")])


class RaiseCaseForm(Form):
    """代发: the post written for the resident, the case's type and priority, and their consent."""

    resident = SelectField("以谁的名义", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    title = StringField("标题", validators=[DataRequired("请填写标题"), at_most(60)], filters=[strip])
    body = TextAreaField("内容", validators=[DataRequired("请填写内容"), Length(max=2000, message="最多2000字")])
    case_type = SelectField("案件类型", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    priority = RadioField(
        "紧急程度",
        choices=Priority.choices(),
        default=Priority.NORMAL.value,
        validators=[DataRequired("请选择紧急程度")],
    )
    consent = BooleanField("居民已同意由我代为在“身边事”发帖并立案（帖子对本小区公开）")
