"""Forms of an account's later life; fields asked elsewhere are reused with their rules."""

from __future__ import annotations

from wtforms import BooleanField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..formtools import Form, strip
from . import rules
from .forms import ChangePasswordForm, RegistrationForm, ResidentDetailsForm
from .lifecycle import SuspensionLength, normalize_reset_code


class ResetWithCodeForm(Form):
    phone = StringField("手机号", validators=[DataRequired("请填写手机号")], filters=[rules.normalize_phone])
    code = StringField("重置码", validators=[DataRequired("请填写居委会给您的重置码")], filters=[normalize_reset_code])
    new_password = ChangePasswordForm.new_password

    @property
    def account_phone(self) -> str:  # the password policy refuses a password holding the phone
        return self.phone.data or ""


class ChangeDetailsForm(ResidentDetailsForm):
    """A new name or address; the ID number is not asked again."""

    id_number = None


class ChangePhoneForm(Form):
    phone = RegistrationForm.phone
    current_password = PasswordField("当前密码", validators=[DataRequired("请填写当前密码")])


class LeaveForm(Form):
    password = PasswordField("密码", validators=[DataRequired("请输入密码确认是您本人")])
    confirm = BooleanField(
        "我已了解：注销后不能恢复，发过的内容会保留并显示为“已注销用户”", validators=[DataRequired("请勾选确认")]
    )


class SuspendForm(Form):
    length = RadioField("禁言时长", choices=SuspensionLength.choices(), validators=[InputRequired("请选择禁言时长")])
    reason = TextAreaField(
        "禁言原因",
        validators=[DataRequired("请填写禁言原因，居民会看到它"), Length(max=150, message="原因最多150字")],
        filters=[strip],
    )


class StaffDeleteForm(Form):
    reason = TextAreaField(
        "代办说明",
        validators=[DataRequired("请填写代办说明"), Length(max=150, message="说明最多150字")],
        filters=[strip],
    )
    confirm = BooleanField("居民本人已当面申请注销", validators=[DataRequired("请勾选确认")])
