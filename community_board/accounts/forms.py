"""Account forms: the shape of what residents and staff type."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from ..formtools import Form, strip
from . import rules
from .models import Salutation


def _check(problem_of):
    def validator(_form, field):
        problem = problem_of(field.data or "")
        if problem:
            raise ValidationError(problem)

    return validator


def _new_password(form, field):
    """The district's password policy, applied whenever a password is set (never at sign-in)."""
    problem = rules.password_problem(field.data or "", phone=form.account_phone)
    if problem:
        raise ValidationError(problem)


def _address_part(label: str):
    return _check(lambda value: rules.address_part_problem(value, label))


class ResidentDetailsForm(Form):
    """Name, address and optional ID number: asked at registration and on resubmission."""

    real_name = StringField(
        "真实姓名",
        validators=[DataRequired("请填写真实姓名"), Length(min=2, max=20, message="姓名应为2到20个字")],
        filters=[strip],
    )
    salutation = RadioField("称呼", choices=Salutation.choices(), validators=[InputRequired("请选择称呼")])
    building = StringField(
        "楼号",
        validators=[DataRequired("请填写楼号"), _address_part("楼号")],
        filters=[strip],
    )
    unit = StringField(
        "单元",
        validators=[Optional(), _address_part("单元")],
        filters=[strip],
    )
    room = StringField(
        "室号",
        validators=[DataRequired("请填写室号"), _address_part("室号")],
        filters=[strip],
    )
    id_number = StringField(
        "身份证号",
        validators=[Optional(), _check(rules.id_number_problem)],
        filters=[rules.normalize_id_number],
    )


class RegistrationForm(ResidentDetailsForm):
    phone = StringField(
        "手机号",
        validators=[DataRequired("请填写手机号"), _check(rules.phone_problem)],
        filters=[rules.normalize_phone],
    )
    password = PasswordField("密码", validators=[DataRequired("请设置密码"), _new_password])
    consent = BooleanField(
        "我已阅读并同意《个人信息保护说明》",
        validators=[DataRequired("请阅读并勾选同意个人信息保护说明")],
    )

    @property
    def account_phone(self) -> str:
        return self.phone.data or ""


class LoginForm(Form):
    phone = StringField("手机号", validators=[DataRequired("请填写手机号")], filters=[rules.normalize_phone])
    password = PasswordField("密码", validators=[DataRequired("请填写密码")])
    remember = BooleanField("记住我")
    # Asked after repeated failures for this phone (throttle.py): the question's signed token and
    # the answer.
    challenge_token = HiddenField()
    challenge_answer = StringField("答案", filters=[strip])


class ChangePasswordForm(Form):
    current_password = PasswordField("当前密码", validators=[DataRequired("请填写当前密码")])
    new_password = PasswordField("新密码", validators=[DataRequired("请设置新密码"), _new_password])

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_phone = user.phone


class RejectForm(Form):
    reason = TextAreaField(
        "未通过原因",
        validators=[DataRequired("请填写原因，居民会看到它"), Length(max=200, message="原因最多200字")],
    )


class ActionForm(Form):
    """A button that posts: carries only the CSRF token."""
