"""Board forms: the shape of what people type; the rules are in services."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..formtools import CHOOSE_FROM_LIST, Form, at_most, strip
from .models import AidKind, ItemCondition, ReportReason, TradeStatus


class PostForm(Form):
    title = StringField(
        "标题", validators=[DataRequired("请填写标题"), Length(max=30, message="标题最多30个字")], filters=[strip]
    )
    body = TextAreaField("内容", validators=[DataRequired("请填写内容"), Length(max=5000, message="内容最多5000字")])
    photos = MultipleFileField("照片（最多9张）")
    # 闲置物品
    price_yuan = StringField("价格（元）", validators=[Optional(), at_most(12)], filters=[strip])
    is_free = BooleanField("免费送")
    condition = RadioField("成色", choices=ItemCondition.choices(), validators=[Optional()], validate_choice=False)
    # 互助
    aid_kind = RadioField("类型", choices=AidKind.choices(), validators=[Optional()], validate_choice=False)
    # 办事指南
    topic = StringField("主题", validators=[Optional(), at_most(20)], filters=[strip])
    shared_with_street = BooleanField("本街镇所有小区都可以看到")


class ReplyForm(Form):
    body = TextAreaField(
        "回复", validators=[DataRequired("请填写回复内容"), Length(max=2000, message="回复最多2000字")]
    )
    reply_to = HiddenField()


class ReportForm(Form):
    reason = RadioField("举报原因", choices=ReportReason.choices(), validators=[DataRequired("请选择举报原因")])
    detail = TextAreaField("补充说明（选填）", validators=[Optional(), Length(max=200, message="最多200字")])


class HideForm(Form):
    reason = StringField("隐藏原因", validators=[DataRequired("请填写隐藏原因"), at_most(200)], filters=[strip])


class TradeStatusForm(Form):
    status = SelectField("状态", invalid_choice_message=CHOOSE_FROM_LIST, choices=TradeStatus.choices())


class ThanksForm(Form):
    helper = SelectField(
        "感谢帮忙的邻居", invalid_choice_message=CHOOSE_FROM_LIST, validators=[Optional()], validate_choice=False
    )
    note = StringField("感谢的话（选填）", validators=[Optional(), at_most(100)], filters=[strip])
