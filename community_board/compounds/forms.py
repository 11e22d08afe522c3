"""Forms for the district admin and compound staff."""

from __future__ import annotations

from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..accounts import rules
from ..formtools import CHOOSE_FROM_LIST, Form, at_most, strip
from .models import CompoundKind, DepartmentKind, StaffRole, StreetKind

_NAME = [DataRequired("请填写名称"), Length(max=40, message="名称最多40个字")]


class StreetForm(Form):
    name = StringField("街镇名称", validators=_NAME, filters=[strip])
    kind = SelectField("类型", invalid_choice_message=CHOOSE_FROM_LIST, choices=StreetKind.choices())


class CompoundForm(Form):
    street_id = SelectField("所属街镇", invalid_choice_message=CHOOSE_FROM_LIST, coerce=int, validate_choice=True)
    name = StringField("居民区/村名称", validators=_NAME, filters=[strip])
    kind = SelectField("类型", invalid_choice_message=CHOOSE_FROM_LIST, choices=CompoundKind.choices())


class DepartmentForm(Form):
    parent = SelectField(
        "隶属", invalid_choice_message=CHOOSE_FROM_LIST, validate_choice=True
    )  # "district" or a street id
    name = StringField("部门名称", validators=[DataRequired("请填写名称"), at_most(60)], filters=[strip])
    kind = SelectField("类型", invalid_choice_message=CHOOSE_FROM_LIST, choices=DepartmentKind.choices())


class RenameForm(Form):
    name = StringField("新名称", validators=_NAME, filters=[strip])


class DepartmentRenameForm(Form):
    name = StringField("新名称", validators=[DataRequired("请填写名称"), at_most(60)], filters=[strip])


class StaffForm(Form):
    phone = StringField("手机号", validators=[DataRequired("请填写手机号")], filters=[rules.normalize_phone])
    real_name = StringField("姓名", validators=[Optional(), at_most(20)], filters=[strip])
    password = PasswordField("初始密码", validators=[Optional()])
    role = SelectField("角色", invalid_choice_message=CHOOSE_FROM_LIST, choices=StaffRole.choices())
    scope = SelectField(
        "范围", invalid_choice_message=CHOOSE_FROM_LIST, validate_choice=True
    )  # "compound:3", "street:2", …

    def validate_phone(self, field):
        problem = rules.phone_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_password(self, field):
        if field.data:
            problem = rules.password_problem(field.data)
            if problem:
                raise ValidationError(problem)
