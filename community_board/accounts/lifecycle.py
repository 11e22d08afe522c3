"""An account's life after sign-up: reset codes from the 居委会, changes of name, address or phone,
禁言 (suspension) and 注销 (deleting the account).

Services check, mutate, write the audit row and flush; the view hashes any password before the
write transaction and commits once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit, caching
from ..board.models import MeToo, Post, Reply
from ..compounds.models import Compound, StaffAssignment
from ..enums import LabeledEnum
from ..errors import ValidationError
from ..extensions import db
from ..notifications.models import Notification, NotificationKind
from ..notifications.services import notify
from ..pagination import Page, keyset_page
from ..permissions import Action, Decision, PermissionDenied, is_staff, require
from ..persistence import insert_unique
from ..privacy import masked_phone
from ..timeutil import format_local, utcnow
from . import rules
from .lifecycle_models import DetailsChange, ResetCode
from .models import DELETED_NAME, PartyBadge, User
from .services import ResidentDetails, end_all_sessions, find_user_by_phone, household_at

STAFF_ACCOUNT = "工作人员的账号请联系区管理员处理"


def _managed_resident(actor: User, resident: User, action: Action) -> Compound:
    """The resident's compound once ``actor`` may do ``action`` there. Staff accounts are the
    district admin's: a committee member must not reset the secretary's password."""
    compound = resident.compound
    if compound is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(actor, action, compound)
    if resident.assignments:
        raise ValidationError(STAFF_ACCOUNT)
    return compound


def _touch_boards_showing(user: User) -> None:
    """Their name and address show beside what they wrote, on every board they wrote on (a resident
    who moved wrote on the old one too): those boards' kept pages must change with them."""
    wrote_on = sa.union(
        sa.select(Post.compound_id).where(Post.author_id == user.id),
        sa.select(Reply.compound_id).where(Reply.author_id == user.id),
    )
    caching.touch(db.session, [*db.session.scalars(sa.select(wrote_on.subquery().c[0])), user.compound_id])


def _change_compound_count(compound_id: int, delta: int) -> None:
    db.session.execute(
        sa.update(Compound).where(Compound.id == compound_id).values(resident_count=Compound.resident_count + delta)
    )


# Password reset codes ------------------------------------------------------------------------
# A resident who forgot their password asks the 居委会; staff hand them a code shown once. The code
# has 40 bits and lives 24 h behind a rate-limited form; only its keyed hash is stored.

RESET_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I/L to misread
RESET_CODE_LENGTH = 8
RESET_CODE_LIFETIME = timedelta(hours=24)
WRONG_RESET_CODE = "手机号或重置码不正确，或重置码已失效"


def normalize_reset_code(raw: str) -> str:
    """People copy 'ABCD-EFGH' with the dash, spaces or in lower case."""
    return re.sub(r"[\s\-]", "", raw or "").upper()


def format_reset_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _reset_code_hash(code: str) -> str:
    key = current_app.secret_key.encode()
    return hmac.new(key, b"reset-code:" + code.encode(), hashlib.sha256).hexdigest()


def issue_reset_code(actor: User, resident: User) -> tuple[str, datetime]:
    """A new one-time code for ``resident`` and when it expires, voiding any earlier code; the
    caller shows it once."""
    compound = _managed_resident(actor, resident, Action.VERIFY_RESIDENTS)
    if not resident.active:
        raise ValidationError("该账号已停用，不能重置密码")
    code = "".join(secrets.choice(RESET_CODE_ALPHABET) for _ in range(RESET_CODE_LENGTH))
    now = utcnow()
    db.session.execute(sa.delete(ResetCode).where(ResetCode.user_id == resident.id))
    insert_unique(
        ResetCode(
            user_id=resident.id,
            code_hash=_reset_code_hash(code),
            issued_by_id=actor.id,
            created_at=now,
            expires_at=now + RESET_CODE_LIFETIME,
        ),
        "另一位工作人员刚为该居民生成了重置码，请刷新后再试",
    )
    audit.record(actor, "account.reset_code_issued", resident, compound=compound)
    return code, now + RESET_CODE_LIFETIME


def _live_reset_code(phone: str, code: str, for_update: bool = False) -> ResetCode | None:
    """The unexpired code of the account with ``phone``, if ``code`` is it. One query whether or
    not the phone is registered, and one answer for every way of being wrong. An account that has
    been given a staff role since the code was issued is the district admin's: its code is void."""
    stmt = (
        sa.select(ResetCode)
        .join(User, User.id == ResetCode.user_id)
        .where(User.phone == phone, User.active.is_(True), ~sa.exists().where(StaffAssignment.user_id == User.id))
    )
    row = db.session.scalar(stmt.with_for_update(of=ResetCode) if for_update else stmt)
    digest = _reset_code_hash(normalize_reset_code(code))
    if row is None or not hmac.compare_digest(row.code_hash, digest) or row.expires_at <= utcnow():
        return None
    return row


def reset_code_matches(phone: str, code: str) -> bool:
    """Asked before hashing the new password, so a wrong guess costs no hashing."""
    return _live_reset_code(phone, code) is not None


def reset_password_with_code(phone: str, code: str, password_hash: str) -> User:
    """Set the password ``password_hash`` was made from; the code is used up and every session ends."""
    row = _live_reset_code(phone, code, for_update=True)
    if row is None:
        raise ValidationError(WRONG_RESET_CODE)
    user = db.session.get(User, row.user_id)
    db.session.delete(row)
    user.password_hash, user.password_changed_at = password_hash, utcnow()
    end_all_sessions(user)
    audit.record(user, "account.password_reset", user, compound=user.compound)
    notify(user.id, NotificationKind.ACCOUNT, "您已用居委会给的重置码设置了新密码；如不是您本人操作，请马上联系居委会")
    return user


# Changes of name, address or phone ----------------------------------------------------------
# A new name or address is checked by the staff of the compound it names (for a move: the new
# compound, reached by its join QR). Until they approve, the resident stays verified where they
# are; on approval the old household drops them and both compounds' counts move.


def pending_change_of(user: User) -> DetailsChange | None:
    return db.session.scalar(sa.select(DetailsChange).where(DetailsChange.user_id == user.id))


def request_change(user: User, compound: Compound, details: ResidentDetails) -> DetailsChange:
    """``details`` at ``compound`` (the user's own, or the one they move to), for its staff to check.
    A new request replaces one still waiting."""
    if not user.is_verified_resident:
        raise ValidationError("通过实名认证后才能申请变更资料")
    current = (user.compound_id, user.real_name, user.salutation, user.building, user.unit or "", user.room)
    wanted = (compound.id, details.real_name, details.salutation, details.building, details.unit, details.room)
    if current == wanted:
        raise ValidationError("资料没有变化")
    db.session.execute(sa.delete(DetailsChange).where(DetailsChange.user_id == user.id))
    change = insert_unique(
        DetailsChange(
            user_id=user.id,
            compound_id=compound.id,
            real_name=details.real_name,
            salutation=details.salutation,
            building=details.building,
            unit=details.unit,
            room=details.room,
        ),
        "申请已提交，请勿重复提交",
    )
    change.user = user
    audit.record(user, "account.change_requested", user, compound=compound, note="搬入" if change.is_move else "")
    return change


def withdraw_change(user: User) -> None:
    change = pending_change_of(user)
    if change is None:
        raise ValidationError("没有待审核的变更申请")
    db.session.delete(change)
    audit.record(user, "account.change_withdrawn", user, compound=change.compound)


def pending_changes(compound: Compound, cursor: str | None, limit: int) -> Page[DetailsChange]:
    """The changes waiting in a compound's verification queue, oldest first."""
    stmt = (
        sa.select(DetailsChange)
        .where(DetailsChange.compound_id == compound.id)
        .options(joinedload(DetailsChange.user).joinedload(User.compound))
    )
    return keyset_page(stmt, DetailsChange, cursor, limit, newest_first=False)


def approve_change(actor: User, change: DetailsChange) -> None:
    target = change.compound
    require(actor, Action.VERIFY_RESIDENTS, target)
    user = change.user
    old = user.compound
    if old is None or not user.is_verified_resident:
        raise ValidationError("该居民的状态已变化，请刷新列表")
    moving = old.id != target.id
    new_address = (change.building, change.unit, change.room)
    if moving:
        user.compound = target
        user.verified_at = utcnow()
        user.party_badge = PartyBadge.NONE  # the new compound's secretary confirms it anew
        _change_compound_count(old.id, -1)
        _change_compound_count(target.id, +1)
        audit.record(actor, "resident.moved_out", user, compound=old)
    user.real_name, user.salutation = change.real_name, change.salutation
    if moving or new_address != (user.building, user.unit or "", user.room):
        user.building, user.unit, user.room = new_address
        user.household = household_at(target, *new_address)
    db.session.delete(change)
    _touch_boards_showing(user)  # a new name or address, on every board they wrote on
    audit.record(actor, "account.change_approved", user, compound=target)
    welcome = f"欢迎加入{target.name}" if moving else "新的资料已生效"
    notify(user.id, NotificationKind.ACCOUNT, f"居委会已通过您的资料变更申请，{welcome}")


def reject_change(actor: User, change: DetailsChange, reason: str) -> None:
    require(actor, Action.VERIFY_RESIDENTS, change.compound)
    reason = reason.strip()
    if not reason:
        raise ValidationError("请填写原因，居民会看到它", "reason")
    db.session.delete(change)
    audit.record(actor, "account.change_rejected", change.user, compound=change.compound, note=reason)
    notify(
        change.user_id,
        NotificationKind.ACCOUNT,
        f"{change.compound.name}居委会未通过您的资料变更申请：{reason}。原有资料不变",
    )


PHONE_TAKEN = "该手机号已被其他账号使用"


PHONE_CHANGE_NOT_YET = "通过实名认证后才能更换手机号；如需更换请联系居委会"


def may_change_phone(user: User) -> bool:
    """Verified residents and staff: an account just made by scanning a QR could otherwise try
    numbers to learn which are registered."""
    return user.is_verified_resident or is_staff(user)


def change_phone(user: User, phone: str) -> None:
    """The sign-in phone; the caller has checked the current password. Other devices sign out."""
    if not may_change_phone(user):
        raise ValidationError(PHONE_CHANGE_NOT_YET)
    problem = rules.phone_problem(phone)
    if problem:
        raise ValidationError(problem, "phone")
    if phone == user.phone:
        raise ValidationError("新手机号与当前手机号相同", "phone")
    # Saying the number is taken is unavoidable (the join form says it too); the form is rate-limited.
    if find_user_by_phone(phone) is not None:
        raise ValidationError(PHONE_TAKEN, "phone")
    try:
        with db.session.begin_nested():
            user.phone = phone
    except IntegrityError:  # taken at the same moment
        raise ValidationError(PHONE_TAKEN, "phone") from None
    end_all_sessions(user)
    audit.record(user, "account.phone_changed", user, compound=user.compound)
    notify(user.id, NotificationKind.ACCOUNT, f"您的登录手机号已改为{masked_phone(phone)}，其他设备需要重新登录")


# 禁言 -------------------------------------------------------------------------------------------
# A suspended resident still reads; permissions.authorize refuses what they would publish. It ends
# by itself: User.is_suspended compares suspended_until with the clock.


class SuspensionLength(LabeledEnum):
    DAYS_3 = ("3d", "3天")
    MONTHS_3 = ("3m", "3个月")
    FOREVER = ("forever", "永久")

    @property
    def period(self) -> timedelta | None:
        return {"3d": timedelta(days=3), "3m": timedelta(days=90)}.get(self.value)


def suspension_end(user: User) -> str:
    """When the suspension ends, as residents read it."""
    return format_local(user.suspended_until) if user.suspended_until else "居委会解除时"


def suspend(actor: User, resident: User, length: SuspensionLength, reason: str) -> None:
    compound = _managed_resident(actor, resident, Action.MODERATE)
    reason = reason.strip()
    if not reason:
        raise ValidationError("请填写禁言原因，居民会看到它", "reason")
    now = utcnow()
    resident.suspended_at = now
    resident.suspended_until = now + length.period if length.period else None
    resident.suspension_reason = reason
    audit.record(actor, "resident.suspended", resident, compound=compound, note=f"{length.label}：{reason}")
    notify(
        resident.id,
        NotificationKind.ACCOUNT,
        f"您已被{compound.name}居委会禁言（{length.label}，至{suspension_end(resident)}），原因：{reason}。"
        "期间可以浏览，不能发帖、回复、点赞或投票",
    )


def lift_suspension(actor: User, resident: User) -> None:
    compound = _managed_resident(actor, resident, Action.MODERATE)
    if not resident.is_suspended:
        raise ValidationError("该居民没有被禁言")
    resident.suspended_at = resident.suspended_until = resident.suspension_reason = None
    audit.record(actor, "resident.suspension_lifted", resident, compound=compound)
    notify(resident.id, NotificationKind.ACCOUNT, "居委会已解除您的禁言，您可以继续发帖和回复了")


# 注销 -------------------------------------------------------------------------------------------


def delete_account(actor: User, user: User, reason: str = "") -> None:
    """Delete ``user``'s personal data in this transaction; their posts and replies stay, shown as
    已注销用户. ``actor`` is the user themself, or compound staff acting on their request (a reason
    is then required). The one place that knows what an account holds (a data export will read it)."""
    if user.is_deleted:
        raise ValidationError("该账号已注销")
    if actor.id == user.id:
        if user.assignments:
            raise ValidationError("您还担任工作人员角色，请先请区管理员撤销角色再注销")
        compound, note = user.compound, ""
    else:
        compound = _managed_resident(actor, user, Action.VERIFY_RESIDENTS)
        note = reason.strip()
        if not note:
            raise ValidationError("请填写代办说明，如：本人到居委会申请注销", "reason")
    if user.is_verified_resident:
        _change_compound_count(user.compound_id, -1)
    _touch_boards_showing(user)  # their posts now show 已注销用户, wherever they wrote them
    for model in (ResetCode, DetailsChange, Notification):
        db.session.execute(sa.delete(model).where(model.user_id == user.id))
    # What their household did stays (its 我也遇到 and its vote count) but no longer says who did it:
    # no row may lead from the account to an address.
    db.session.execute(sa.update(MeToo).where(MeToo.user_id == user.id).values(user_id=None))
    from ..deliberation.models import Ballot  # deliberation's package imports the board, which imports accounts

    db.session.execute(sa.update(Ballot).where(Ballot.voter_id == user.id).values(voter_id=None))
    from ..grids.models import GridMember  # grids build on accounts

    db.session.execute(sa.delete(GridMember).where(GridMember.user_id == user.id))  # 一格三员: no longer

    user.real_name, user.salutation = DELETED_NAME, None
    user.phone = f"x{user.id}"  # unique, and no phone number: nobody can sign in with it
    user.password_hash = "!"  # matches no password
    user.compound, user.resident_status, user.household = None, None, None
    user.building = user.unit = user.room = user.rejection_reason = None
    user.id_number_hmac = user.id_number_last4 = None
    user.party_badge = PartyBadge.NONE
    user.suspended_at = user.suspended_until = user.suspension_reason = None
    user.verified_at = None
    user.active = False
    user.deleted_at = utcnow()
    end_all_sessions(user)
    audit.record(actor, "account.deleted", user, compound=compound, note=note)
