"""Account pages: join by QR, sign in/out, 我的, verification queue, party badges, neighbours."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from ..compounds import services as compound_services
from ..extensions import db, limiter, writes_after_slow_work
from ..permissions import Action, Decision, PermissionDenied, can
from ..web import commit_work, perform, safe_redirect_target, save
from . import bp, lifecycle, services, sessions, throttle
from .forms import (
    ActionForm,
    ChangePasswordForm,
    LoginForm,
    RegistrationForm,
    RejectForm,
    ResidentDetailsForm,
)
from .models import ResidentStatus, User

WRONG_PASSWORD = "手机号或密码不正确"


bp.before_app_request(sessions.require_password_change)


def _login_limits() -> str:
    return current_app.config["LOGIN_LIMITS"]


def _join_limits() -> str:
    return current_app.config["JOIN_LIMITS"]


def _password_change_limits() -> str:
    return current_app.config["PASSWORD_CHANGE_LIMITS"]


def _failed(response) -> bool:
    # A 5xx is our failure (database or Redis down), not a wrong password.
    return response.status_code != 302 and response.status_code < 500


def _signed_in_user_key() -> str:
    return f"password-change:{current_user.id if current_user.is_authenticated else '-'}"


def _locked_message() -> str:
    return f"密码错误次数过多，该账号已锁定{current_app.config['LOGIN_LOCK_MINUTES']}分钟，请稍后再试"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limits, methods=["POST"], deduct_when=_failed, key_func=throttle.client_address)
@writes_after_slow_work  # the password check
def login():
    if current_user.is_authenticated:
        return redirect(url_for("compounds.home"))
    form = LoginForm()
    challenge = None
    if form.validate_on_submit():
        phone = form.phone.data
        user = services.find_user_by_phone(phone)
        if throttle.locked(phone):
            form.form_errors.append(_locked_message())
        elif not throttle.challenge_needed(phone) or throttle.trusted_device(user and user.id):
            return _sign_in(form, user) or _render_login(form, _challenge_after_failure(phone, user))
        elif wait := throttle.pace_wait(phone):
            # Nothing is checked and nothing counts: the question already asked stays, answer and all.
            form.form_errors.append(throttle.wait_message(wait))
            return _render_login(form, throttle.same_challenge(phone, form.challenge_token.data), keep_answer=True)
        elif not throttle.passed(phone, form.challenge_token.data, form.challenge_answer.data):
            form.form_errors.append(
                "验证问题回答不正确，请重新回答"
                if form.challenge_answer.data
                else "该手机号近期多次登录失败，请回答验证问题后再登录"
            )
            challenge = throttle.new_challenge(phone)
        elif wait := throttle.take_pace(phone):  # another attempt took this window a moment ago
            form.form_errors.append(throttle.wait_message(wait))
            challenge = throttle.new_challenge(phone)
        else:
            return _sign_in(form, user) or _render_login(form, _challenge_after_failure(phone, user))
    return _render_login(form, challenge)


def _render_login(form: LoginForm, challenge: throttle.Challenge | None, keep_answer: bool = False):
    if challenge:
        form.challenge_token.data = challenge.token
        if not keep_answer:
            form.challenge_answer.data = ""
    return render_template("accounts/login.html", form=form, challenge=challenge)


def _challenge_after_failure(phone: str, user: User | None) -> throttle.Challenge | None:
    """The question the next attempt must answer, if it must."""
    if throttle.challenge_needed(phone) and not throttle.trusted_device(user and user.id):
        return throttle.new_challenge(phone)
    return None


def _sign_in(form: LoginForm, user: User | None):
    """A redirect when the password is right, and this browser remembered as the account's device;
    otherwise the failure is counted and said."""
    phone = form.phone.data
    stored_hash, active, changed_at = (
        (user.password_hash, user.active, user.password_changed_at) if user else (None, False, None)
    )
    if services.password_matches(stored_hash, form.password.data) and active:
        throttle.record_success(phone)
        sessions.start(user, remember=form.remember.data)
        if services.password_expired(changed_at, current_app.config["PASSWORD_MAX_AGE_DAYS"]):
            response = sessions.to_password_change()
        else:
            response = redirect(safe_redirect_target(request.args.get("next")) or url_for("compounds.home"))
        throttle.remember_device(response, user.id)
        return response
    throttle.record_failure(phone)
    throttle.record_device_failure()
    form.form_errors.append(_locked_message() if throttle.locked(phone) else WRONG_PASSWORD)
    return None


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if ActionForm().validate_on_submit():
        commit_work(lambda: services.end_all_sessions(current_user._get_current_object()))
        sessions.end()
        flash("已退出登录", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit(_join_limits, methods=["POST"])
@writes_after_slow_work  # hashing the password
def join(token: str):
    if current_user.is_authenticated:  # a resident who moves scans the new compound's QR
        return redirect(url_for("accounts.move", token=token))
    form = RegistrationForm()
    code = compound_services.find_join_code(token)
    if code is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    if not code.is_active:
        return render_template("accounts/join_expired.html", compound=code.compound), 410
    if form.validate_on_submit():
        password_hash = services.hash_password(form.password.data)
        ok, _ = save(
            form,
            lambda: services.register_resident(
                code.compound, form.phone.data, password_hash, services.ResidentDetails.from_form(form)
            ),
        )
        if ok:
            # The same answer whether or not the number was registered before (nothing tells which).
            return redirect(url_for("accounts.join_received", token=token))
    return render_template("accounts/join.html", form=form, compound=code.compound)


@bp.route("/join/<token>/received")
def join_received(token: str):
    code = compound_services.find_join_code(token)
    if code is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    return render_template("accounts/join_received.html", compound=code.compound, form=LoginForm(formdata=None))


@bp.route("/privacy")
def privacy():
    return render_template("accounts/privacy.html")


@bp.route("/me")
@login_required
def me():
    return render_template(
        "accounts/me.html",
        action_form=ActionForm(),
        pending_change=lifecycle.pending_change_of(current_user) if current_user.is_verified_resident else None,
    )


@bp.route("/me/password", methods=["GET", "POST"])
@login_required
@limiter.limit(
    _password_change_limits,
    methods=["POST"],
    deduct_when=throttle.wrong_password_given,
    key_func=throttle.client_address,
)
@limiter.limit(
    _password_change_limits, methods=["POST"], deduct_when=throttle.wrong_password_given, key_func=_signed_in_user_key
)
@writes_after_slow_work  # checking and hashing passwords
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm(user)
    if form.validate_on_submit():
        if not services.password_matches(user.password_hash, form.current_password.data):
            throttle.note_wrong_password()
            form.current_password.errors = ["当前密码不正确"]
        else:
            new_hash = services.hash_password(form.new_password.data)
            commit_work(lambda: services.change_password(user, new_hash))
            login_user(user)  # this device stays signed in with the new session version
            flash("密码已修改，其他设备需要重新登录", "success")
            return redirect(url_for("accounts.me"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/me/details", methods=["GET", "POST"])
@login_required
def resubmit():
    user = current_user._get_current_object()
    if user.resident_status is not ResidentStatus.REJECTED:
        return redirect(url_for("accounts.me"))
    form = ResidentDetailsForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.salutation.data = user.salutation.value if user.salutation else None
        form.id_number.data = ""
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: services.resubmit_details(user, services.ResidentDetails.from_form(form)),
            success="已重新提交，请等待居委会审核",
        )
        if ok:
            return redirect(url_for("accounts.me"))
    return render_template("accounts/resubmit.html", form=form, user=user)


@bp.route("/me/party-badge", methods=["POST"])
@login_required
def request_party_badge():
    if ActionForm().validate_on_submit():
        perform(
            services.request_party_badge,
            current_user._get_current_object(),
            success="申请已提交，书记确认后显示党员标识",
        )
    return redirect(url_for("accounts.me"))


# Compound staff ------------------------------------------------------------------------------


def _resident_of(compound, user_id: int) -> User:
    # Locked until commit: two staff deciding at once cannot both pass the "still pending" check.
    resident = db.session.get(User, user_id, with_for_update=True)
    if resident is None or resident.compound_id != compound.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    return resident


@bp.route("/c/<int:compound_id>/verification")
@login_required
def verification_queue(compound_id: int):
    compound = compound_services.get_compound_for(current_user, compound_id, Action.VERIFY_RESIDENTS)
    page = services.pending_residents(compound, request.args.get("after"), current_app.config["PAGE_SIZE"])
    return render_template(
        "accounts/verification_queue.html",
        compound=compound,
        page=page,
        shared_ids=services.shared_id_numbers(page.items),
        households=services.households_of_pending(compound, page.items),
        changes=lifecycle.pending_changes(compound, request.args.get("changes_after"), current_app.config["PAGE_SIZE"]),
        action_form=ActionForm(),
        reject_form=RejectForm(),
    )


@bp.route("/c/<int:compound_id>/verification/<int:user_id>/approve", methods=["POST"])
@login_required
def approve(compound_id: int, user_id: int):
    compound = compound_services.get_compound_for(current_user, compound_id, Action.VERIFY_RESIDENTS)
    resident = _resident_of(compound, user_id)
    if ActionForm().validate_on_submit():
        perform(services.approve_resident, current_user, resident, success="已通过该居民的认证")
    return redirect(url_for("accounts.verification_queue", compound_id=compound.id))


@bp.route("/c/<int:compound_id>/verification/<int:user_id>/reject", methods=["POST"])
@login_required
def reject(compound_id: int, user_id: int):
    compound = compound_services.get_compound_for(current_user, compound_id, Action.VERIFY_RESIDENTS)
    resident = _resident_of(compound, user_id)
    form = RejectForm()
    if form.validate_on_submit():
        perform(
            services.reject_resident,
            current_user,
            resident,
            form.reason.data,
            success="已退回该居民的申请",
        )
    else:
        flash("请填写未通过原因", "warn")
    return redirect(url_for("accounts.verification_queue", compound_id=compound.id))


@bp.route("/c/<int:compound_id>/party-members")
@login_required
def party_badges(compound_id: int):
    compound = compound_services.get_compound_for(current_user, compound_id, Action.CONFIRM_PARTY_BADGE)
    page = services.party_badge_requests(compound, request.args.get("after"), current_app.config["PAGE_SIZE"])
    members = services.party_members(compound, request.args.get("members_after"), current_app.config["PAGE_SIZE"])
    return render_template(
        "accounts/party_badges.html", compound=compound, page=page, members=members, action_form=ActionForm()
    )


@bp.route(
    "/c/<int:compound_id>/party-members/<int:user_id>/<any(confirm, decline, withdraw):decision>", methods=["POST"]
)
@login_required
def decide_party_badge(compound_id: int, user_id: int, decision: str):
    compound = compound_services.get_compound_for(current_user, compound_id, Action.CONFIRM_PARTY_BADGE)
    member = _resident_of(compound, user_id)
    verb, message = {
        "confirm": (services.confirm_party_badge, "已确认党员身份"),
        "decline": (services.decline_party_badge, "已退回申请"),
        "withdraw": (services.withdraw_party_badge, "已撤销党员标识"),
    }[decision]
    if ActionForm().validate_on_submit():
        perform(verb, current_user, member, success=message)
    return redirect(url_for("accounts.party_badges", compound_id=compound.id))


@bp.route("/c/<int:compound_id>/residents")
@login_required
def residents(compound_id: int):
    compound = compound_services.get_compound_for(current_user, compound_id, Action.VIEW_BOARD)
    page = services.verified_residents(compound, request.args.get("after"), current_app.config["PAGE_SIZE"])
    return render_template(
        "accounts/residents.html",
        compound=compound,
        page=page,
        full_names=can(current_user, Action.SEE_FULL_NAMES, compound),
    )
