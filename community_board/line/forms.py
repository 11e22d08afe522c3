"""私信居委会 forms: shape only; the rules are in services."""

from __future__ import annotations

from wtforms import MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..formtools import CHOOSE_FROM_LIST, Form, strip


class MessageForm(Form):
    title = StringField(
        "标题", validators=[DataRequired("请填写标题"), Length(max=30, message="标题最多30个字")], filters=[strip]
    )
    body = TextAreaField("内容", validators=[DataRequired("请填写内容"), Length(max=5000, message="内容最多5000字")])
    photos = MultipleFileField("照片（最多9张）")


class AssignForm(Form):
    handler = SelectField("交给", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
