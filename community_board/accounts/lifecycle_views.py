"""Account life pages: reset a forgotten password with the 居委会's code, change details or phone,
leave; and the staff's page for one resident (reset code, 禁言, 注销 on request)."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from ..compounds import services as compound_services
from ..extensions import db, limiter, writes_after_slow_work
from ..permissions import Action, Decision, PermissionDenied
from ..timeutil import format_local
from ..web import flash_form_errors, perform, save
from . import bp, lifecycle, services, sessions, throttle
from .forms import ActionForm, RejectForm
from .lifecycle_forms import (
    ChangeDetailsForm,
    ChangePhoneForm,
    LeaveForm,
    ResetWithCodeForm,
    StaffDeleteForm,
    SuspendForm,
)
from .lifecycle_models import DetailsChange
from .models import Salutation, User

# Changing the sign-in phone says whether a number is taken: a few tries an hour, successful or
# not, per account and per address.
PHONE_CHANGE_LIMITS = "5 per hour"
PHONE_CHANGE_ADDRESS_LIMITS = "10 per hour"


def _reset_limits() -> str:
    return current_app.config["LOGIN_LIMITS"]  # guessing a reset code is guessing a password


def _failed(response) -> bool:
    return response.status_code != 302


def _own_key() -> str:
    return f"account-user:{getattr(current_user, 'id', None) or throttle.client_address()}"


def _details(form) -> services.ResidentDetails:
    return services.ResidentDetails(
        real_name=form.real_name.data,
        salutation=Salutation(form.salutation.data),
        building=form.building.data,
        unit=form.unit.data or "",
        room=form.room.data,
    )


def _password_checked(user: User, password: str) -> bool:
    """Slow (hashing): the views that call it are declared @writes_after_slow_work. A wrong password
    counts towards the view's guessing limit."""
    if services.password_matches(user.password_hash, password):
        return True
    throttle.note_wrong_password()
    return False


def _password_guess_limits() -> str:
    return current_app.config["PASSWORD_CHANGE_LIMITS"]


# The resident --------------------------------------------------------------------------------


# Per address only: a limit per phone would let anyone lock the owner out of their own reset with
# five wrong codes, and a 40-bit code behind the address limit is out of a guesser's reach.
@bp.route("/reset-password", methods=["GET", "POST"])
@limiter.limit(_reset_limits, methods=["POST"], deduct_when=_failed, key_func=throttle.client_address)
@writes_after_slow_work  # hashing the new password
def reset_password():
    form = ResetWithCodeForm()
    if form.validate_on_submit():
        phone, code = form.phone.data, form.code.data
        if not lifecycle.reset_code_matches(phone, code):
            form.form_errors.append(lifecycle.WRONG_RESET_CODE)
        else:
            password_hash = services.hash_password(form.new_password.data)
            ok, _ = save(form, lambda: lifecycle.reset_password_with_code(phone, code, password_hash))
            if ok:
                throttle.forget(phone)  # the 居委会 vouched for them: earlier failures no longer count
                sessions.end()
                flash("密码已重设，请用新密码登录", "success")
                return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/me/details/change", methods=["GET", "POST"])
@login_required
def change_details():
    user = current_user._get_current_object()
    if not user.is_verified_resident:
        return redirect(url_for("accounts.me"))
    form = ChangeDetailsForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.salutation.data = user.salutation.value if user.salutation else None
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: lifecycle.request_change(user, user.compound, _details(form)),
            success="已提交，居委会审核通过后生效",
        )
        if ok:
            return redirect(url_for("accounts.me"))
    return render_template("accounts/change_details.html", form=form, compound=user.compound, moving=False)


@bp.route("/me/move/<token>", methods=["GET", "POST"])
@login_required
def move(token: str):
    """A signed-in resident who scans another compound's join QR asks to move there."""
    code = compound_services.find_join_code(token)
    if code is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    if not code.is_active:
        return render_template("accounts/join_expired.html", compound=code.compound), 410
    user = current_user._get_current_object()
    if not user.is_verified_resident or code.compound_id == user.compound_id:
        flash(
            "您已是本小区居民"
            if code.compound_id == user.compound_id
            else "通过实名认证的居民才能申请搬到其他小区；如有疑问请联系居委会",
            "info",
        )
        return redirect(url_for("accounts.me"))
    form = ChangeDetailsForm()
    if request.method == "GET":
        form.real_name.data = user.real_name
        form.salutation.data = user.salutation.value if user.salutation else None
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: lifecycle.request_change(user, code.compound, _details(form)),
            success=f"搬家申请已提交，{code.compound.name}居委会审核通过后生效",
        )
        if ok:
            return redirect(url_for("accounts.me"))
    return render_template("accounts/change_details.html", form=form, compound=code.compound, moving=True)


@bp.route("/me/details/change/withdraw", methods=["POST"])
@login_required
def withdraw_change():
    if ActionForm().validate_on_submit():
        perform(lifecycle.withdraw_change, current_user._get_current_object(), success="已撤回变更申请")
    return redirect(url_for("accounts.me"))


@bp.route("/me/phone", methods=["GET", "POST"])
@login_required
@limiter.limit(PHONE_CHANGE_LIMITS, methods=["POST"], key_func=_own_key)
@limiter.limit(PHONE_CHANGE_ADDRESS_LIMITS, methods=["POST"], key_func=throttle.client_address)
@writes_after_slow_work  # checking the password
def change_phone():
    user = current_user._get_current_object()
    if not lifecycle.may_change_phone(user):
        flash(lifecycle.PHONE_CHANGE_NOT_YET, "info")
        return redirect(url_for("accounts.me"))
    form = ChangePhoneForm()
    if form.validate_on_submit():
        if not _password_checked(user, form.current_password.data):
            form.current_password.errors = ["当前密码不正确"]
        else:
            ok, _ = save(
                form,
                lambda: lifecycle.change_phone(user, form.phone.data),
                success="手机号已修改，下次请用新手机号登录；其他设备需要重新登录",
            )
            if ok:
                login_user(user)  # this device stays signed in with the new session version
                return redirect(url_for("accounts.me"))
    return render_template("accounts/change_phone.html", form=form)


@bp.route("/me/leave", methods=["GET", "POST"])
@login_required
# A stolen session must not become a way to guess the password (wrong passwords count).
@limiter.limit(_password_guess_limits, methods=["POST"], deduct_when=throttle.wrong_password_given, key_func=_own_key)
@limiter.limit(
    _password_guess_limits,
    methods=["POST"],
    deduct_when=throttle.wrong_password_given,
    key_func=throttle.client_address,
)
@writes_after_slow_work  # checking the password
def leave():
    form = LeaveForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not _password_checked(user, form.password.data):
            form.password.errors = ["密码不正确"]
        else:
            ok, _ = save(form, lambda: lifecycle.delete_account(user, user))
            if ok:
                sessions.end()
                flash("您的账号已注销，个人信息已删除。感谢您对社区的参与", "success")
                return redirect(url_for("accounts.login"))
    return render_template("accounts/leave.html", form=form)


# Compound staff ------------------------------------------------------------------------------


def _resident_for(compound_id: int, user_id: int, action: Action, lock: bool = False):
    """The compound and one of its residents, if the signed-in staff may do ``action`` there:
    404 outside their scope or for anyone not of that compound, 403 for a resident of it."""
    compound = compound_services.get_compound_for(current_user, compound_id, action)
    resident = db.session.get(User, user_id, with_for_update=True if lock else None)
    if resident is None or resident.compound_id != compound.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    return compound, resident


def _account_page(compound, resident, suspend_form=None, delete_form=None):
    return render_template(
        "accounts/resident_account.html",
        compound=compound,
        resident=resident,
        action_form=ActionForm(),
        suspend_form=suspend_form or SuspendForm(formdata=None),
        delete_form=delete_form or StaffDeleteForm(formdata=None),
        suspension_end=lifecycle.suspension_end(resident),
    )


def _back_to_account(compound, resident):
    return redirect(url_for("accounts.resident_account", compound_id=compound.id, user_id=resident.id))


@bp.route("/c/<int:compound_id>/residents/<int:user_id>/account")
@login_required
def resident_account(compound_id: int, user_id: int):
    compound, resident = _resident_for(compound_id, user_id, Action.VERIFY_RESIDENTS)
    return _account_page(compound, resident)


@bp.route("/c/<int:compound_id>/residents/<int:user_id>/reset-code", methods=["POST"])
@login_required
def issue_reset_code(compound_id: int, user_id: int):
    compound, resident = _resident_for(compound_id, user_id, Action.VERIFY_RESIDENTS, lock=True)
    form = ActionForm()
    if form.validate_on_submit():
        ok, issued = save(form, lambda: lifecycle.issue_reset_code(current_user, resident))
        if ok:
            code, expires_at = issued
            # Shown in this response only: never in a flash message (the session cookie) or a cache.
            response = make_response(
                render_template(
                    "accounts/reset_code.html",
                    compound=compound,
                    resident=resident,
                    code=lifecycle.format_reset_code(code),
                    expires=format_local(expires_at),
                )
            )
            response.headers["Cache-Control"] = "no-store"
            return response
    flash_form_errors(form)
    return _back_to_account(compound, resident)


@bp.route("/c/<int:compound_id>/residents/<int:user_id>/suspend", methods=["POST"])
@login_required
def suspend(compound_id: int, user_id: int):
    compound, resident = _resident_for(compound_id, user_id, Action.MODERATE, lock=True)
    form = SuspendForm()
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: lifecycle.suspend(
                current_user,
                resident,
                lifecycle.SuspensionLength(form.length.data),
                form.reason.data,
            ),
            success="已禁言，居民会在“消息”里看到原因和期限",
        )
        if ok:
            return _back_to_account(compound, resident)
    return _account_page(compound, resident, suspend_form=form)


@bp.route("/c/<int:compound_id>/residents/<int:user_id>/lift", methods=["POST"])
@login_required
def lift_suspension(compound_id: int, user_id: int):
    compound, resident = _resident_for(compound_id, user_id, Action.MODERATE, lock=True)
    if ActionForm().validate_on_submit():
        perform(lifecycle.lift_suspension, current_user, resident, success="已解除禁言")
    return _back_to_account(compound, resident)


@bp.route("/c/<int:compound_id>/residents/<int:user_id>/delete", methods=["POST"])
@login_required
def delete_for_resident(compound_id: int, user_id: int):
    compound, resident = _resident_for(compound_id, user_id, Action.VERIFY_RESIDENTS, lock=True)
    form = StaffDeleteForm()
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: lifecycle.delete_account(current_user, resident, form.reason.data),
            success="已为居民注销账号，个人信息已删除",
        )
        if ok:
            return redirect(url_for("accounts.residents", compound_id=compound.id))
    return _account_page(compound, resident, delete_form=form)


def _change_for(compound_id: int, change_id: int):
    compound = compound_services.get_compound_for(current_user, compound_id, Action.VERIFY_RESIDENTS)
    # Locked until commit: two staff deciding at once cannot both apply it.
    change = db.session.get(DetailsChange, change_id, with_for_update=True)
    if change is None or change.compound_id != compound.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    return compound, change


@bp.route("/c/<int:compound_id>/changes/<int:change_id>/approve", methods=["POST"])
@login_required
def approve_change(compound_id: int, change_id: int):
    compound, change = _change_for(compound_id, change_id)
    if ActionForm().validate_on_submit():
        perform(lifecycle.approve_change, current_user, change, success="已通过资料变更")
    return redirect(url_for("accounts.verification_queue", compound_id=compound.id))


@bp.route("/c/<int:compound_id>/changes/<int:change_id>/reject", methods=["POST"])
@login_required
def reject_change(compound_id: int, change_id: int):
    compound, change = _change_for(compound_id, change_id)
    form = RejectForm()
    if form.validate_on_submit():
        perform(lifecycle.reject_change, current_user, change, form.reason.data, success="已退回资料变更申请")
    else:
        flash_form_errors(form)
    return redirect(url_for("accounts.verification_queue", compound_id=compound.id))
