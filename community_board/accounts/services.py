"""Account verbs: register, verify, reject, resubmit, badges, passwords.

Services check, mutate, write the audit row and flush; the view commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..compounds.models import Compound
from ..errors import ValidationError
from ..extensions import db
from ..notifications.models import Notification, NotificationKind
from ..notifications.services import notify
from ..pagination import Page, keyset_page
from ..permissions import Action, require
from ..persistence import insert_unique
from ..privacy import id_number_hmac
from ..timeutil import utcnow
from .models import Household, PartyBadge, ResidentStatus, Salutation, User

DUPLICATE_PHONE = "该手机号已注册，请直接登录；如忘记密码请联系居委会"


@dataclass(frozen=True)
class ResidentDetails:
    real_name: str
    salutation: Salutation
    building: str
    unit: str
    room: str
    id_number: str | None = None

    @classmethod
    def from_form(cls, form) -> ResidentDetails:
        return cls(
            real_name=form.real_name.data,
            salutation=Salutation(form.salutation.data),
            building=form.building.data,
            unit=form.unit.data or "",
            room=form.room.data,
            id_number=form.id_number.data or None,
        )


# Passwords -------------------------------------------------------------------------------
# Hash outside any write transaction: SQLite holds its write lock for the whole transaction.


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@lru_cache(maxsize=4)
def _placeholder_hash(method: str) -> str:
    return generate_password_hash("timing-equaliser", method=method)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """One hash check whether or not the account exists, so timing does not tell."""
    if stored_hash is None:
        check_password_hash(_placeholder_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return False
    return check_password_hash(stored_hash, password)


def find_user_by_phone(phone: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.phone == phone))


def change_password(user: User, new_password_hash: str) -> None:
    user.password_hash = new_password_hash
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    audit.record(user, "account.password_changed", user, compound=user.compound)


def password_expired(changed_at: datetime, max_age_days: int) -> bool:
    """The 等保 profile asks for a new password every ``max_age_days`` (0: never)."""
    return bool(max_age_days) and utcnow() - changed_at > timedelta(days=max_age_days)


def end_all_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of this user, on every device."""
    user.session_version = User.session_version + 1
    db.session.flush()
    db.session.refresh(user, ["session_version"])


# Registration and verification --------------------------------------------------------------


def _apply_details(user: User, details: ResidentDetails) -> None:
    user.real_name = details.real_name
    user.salutation = details.salutation
    user.building, user.unit, user.room = details.building, details.unit, details.room
    if details.id_number:
        user.id_number_hmac = id_number_hmac(current_app.config["ID_HASH_KEY"], details.id_number)
        user.id_number_last4 = details.id_number[-4:]


def register_resident(compound: Compound, phone: str, password_hash: str, details: ResidentDetails) -> User | None:
    """A resident who scanned the compound's QR: signed up, waiting for staff to verify.

    A number already registered creates nothing and returns None; its owner gets a message instead
    of the visitor learning that the number is taken (the page answers the same either way).
    """
    owner = find_user_by_phone(phone)
    if owner is not None:
        _tell_owner_of_registration_attempt(owner, compound)
        return None
    user = User(
        phone=phone,
        password_hash=password_hash,
        compound=compound,
        resident_status=ResidentStatus.PENDING,
        consented_at=utcnow(),
    )
    _apply_details(user, details)
    try:
        insert_unique(user, DUPLICATE_PHONE, "phone")  # two sign-ups with one number at once
    except ValidationError:
        owner = find_user_by_phone(phone)  # committed by the other sign-up
        if owner is not None:
            _tell_owner_of_registration_attempt(owner, compound)
        return None
    audit.record(user, "resident.registered", user, compound=compound)
    return user


def _tell_owner_of_registration_attempt(owner: User, compound: Compound) -> None:
    """At most one message a day, so repeated attempts cannot flood the owner's inbox."""
    already_told = db.session.scalar(
        sa.select(
            sa.exists().where(
                Notification.user_id == owner.id,
                Notification.kind == NotificationKind.ACCOUNT,
                Notification.created_at > utcnow() - timedelta(days=1),
            )
        )
    )
    if not already_told:
        notify(
            owner.id,
            NotificationKind.ACCOUNT,
            f"有人在{compound.name}的注册页用您的手机号提交了注册，未创建新账号，您的账号不受影响。"
            "如果不是您本人操作，无需处理；忘记密码请联系居委会。",
        )


def resubmit_details(user: User, details: ResidentDetails) -> None:
    """A rejected resident corrects what staff asked for and goes back to the queue."""
    if user.resident_status is not ResidentStatus.REJECTED:
        raise ValidationError("只有未通过审核的资料可以重新提交")
    _apply_details(user, details)
    user.resident_status = ResidentStatus.PENDING
    audit.record(user, "resident.resubmitted", user, compound=user.compound)


def _pending_resident(actor: User, resident: User) -> Compound:
    compound = resident.compound
    if compound is None:
        raise ValidationError("该用户不是居民")
    require(actor, Action.VERIFY_RESIDENTS, compound)
    if resident.resident_status is not ResidentStatus.PENDING:
        raise ValidationError("该居民已处理过，请刷新列表")
    return compound


def approve_resident(actor: User, resident: User) -> None:
    compound = _pending_resident(actor, resident)
    resident.resident_status = ResidentStatus.VERIFIED
    resident.rejection_reason = None
    resident.verified_at = utcnow()
    resident.household = household_at(compound, resident.building, resident.unit or "", resident.room)
    db.session.execute(
        sa.update(Compound).where(Compound.id == compound.id).values(resident_count=Compound.resident_count + 1)
    )
    audit.record(actor, "resident.approved", resident, compound=compound)
    notify(resident.id, NotificationKind.VERIFIED, f"您已通过{compound.name}的实名认证，现在可以发帖和回复了")


def reject_resident(actor: User, resident: User, reason: str) -> None:
    compound = _pending_resident(actor, resident)
    reason = reason.strip()
    if not reason:
        raise ValidationError("请填写原因，居民会看到它", "reason")
    resident.resident_status = ResidentStatus.REJECTED
    resident.rejection_reason = reason
    audit.record(actor, "resident.rejected", resident, compound=compound, note=reason)
    notify(resident.id, NotificationKind.REJECTED, f"居委会的说明：{reason}。请修改资料后重新提交")


def household_at(compound: Compound, building: str, unit: str, room: str) -> Household:
    """The household (户) at an address, created by its first verified resident."""
    lookup = sa.select(Household).where(
        Household.compound_id == compound.id,
        Household.building == building,
        Household.unit == unit,
        Household.room == room,
    )
    household = db.session.scalar(lookup)
    if household is not None:
        return household
    try:
        with db.session.begin_nested():
            household = Household(compound_id=compound.id, building=building, unit=unit, room=room)
            db.session.add(household)
    except IntegrityError:  # verified at the same moment as a neighbour at the same address
        return db.session.scalar(lookup)
    return household


def pending_residents(compound: Compound, cursor: str | None, limit: int) -> Page[User]:
    """The verification queue, oldest first."""
    stmt = sa.select(User).where(User.compound_id == compound.id, User.resident_status == ResidentStatus.PENDING)
    return keyset_page(stmt, User, cursor, limit, newest_first=False)


def households_of_pending(compound: Compound, residents: list[User]) -> dict[int, list[User]]:
    """For each pending resident, the verified residents already living at the same address: a family
    member to ask, or someone to ask about them. One query for the whole page."""
    addresses = {(r.building, r.unit or "", r.room) for r in residents if r.building and r.room}
    if not addresses:
        return {}
    address = sa.tuple_(Household.building, Household.unit, Household.room)
    neighbours = db.session.scalars(
        sa.select(User)
        .join(Household, Household.id == User.household_id)
        .where(
            Household.compound_id == compound.id,
            address.in_(sorted(addresses)),
            User.resident_status == ResidentStatus.VERIFIED,
        )
        .order_by(User.id)
        .limit(200)
    )
    at: dict[tuple, list[User]] = {}
    for user in neighbours:
        at.setdefault((user.building, user.unit or "", user.room), []).append(user)
    return {r.id: at[key] for r in residents if (key := (r.building, r.unit or "", r.room)) in at}


def verified_residents(compound: Compound, cursor: str | None, limit: int) -> Page[User]:
    stmt = sa.select(User).where(User.compound_id == compound.id, User.resident_status == ResidentStatus.VERIFIED)
    return keyset_page(stmt, User, cursor, limit)


def shared_id_numbers(residents: list[User]) -> set[int]:
    """Ids of the given residents whose ID number is also registered by someone else in the district."""
    hashes = {r.id_number_hmac for r in residents if r.id_number_hmac}
    if not hashes:
        return set()
    district_ids = {r.compound.district_id for r in residents if r.compound}
    shared = set(
        db.session.scalars(
            sa.select(User.id_number_hmac)
            .join(Compound, Compound.id == User.compound_id)
            .where(Compound.district_id.in_(district_ids), User.id_number_hmac.in_(hashes))
            .group_by(User.id_number_hmac)
            .having(sa.func.count() > 1)
        )
    )
    return {r.id for r in residents if r.id_number_hmac in shared}


# Party badge (党员亮身份) -----------------------------------------------------------------


def request_party_badge(user: User) -> None:
    if not user.is_verified_resident:
        raise ValidationError("通过实名认证后才能申请党员亮身份")
    if user.party_badge is not PartyBadge.NONE:
        raise ValidationError("已经提交过申请")
    user.party_badge = PartyBadge.REQUESTED
    audit.record(user, "party_badge.requested", user, compound=user.compound)


def _badge_request(actor: User, member: User) -> Compound:
    if member.compound is None:
        raise ValidationError("该用户不是居民")
    require(actor, Action.CONFIRM_PARTY_BADGE, member.compound)
    if member.party_badge is not PartyBadge.REQUESTED:
        raise ValidationError("该申请已处理过，请刷新列表")
    return member.compound


def confirm_party_badge(actor: User, member: User) -> None:
    compound = _badge_request(actor, member)
    member.party_badge = PartyBadge.CONFIRMED
    audit.record(actor, "party_badge.confirmed", member, compound=compound)
    notify(member.id, NotificationKind.PARTY_BADGE, "书记已确认您的党员身份，您的发帖和回复将显示“党员”标识")


def decline_party_badge(actor: User, member: User) -> None:
    compound = _badge_request(actor, member)
    member.party_badge = PartyBadge.NONE
    audit.record(actor, "party_badge.declined", member, compound=compound)


def withdraw_party_badge(actor: User, member: User) -> None:
    """The secretary takes back a confirmed badge (e.g. a member moved or left the party)."""
    if member.compound is None:
        raise ValidationError("该用户不是居民")
    require(actor, Action.CONFIRM_PARTY_BADGE, member.compound)
    if member.party_badge is not PartyBadge.CONFIRMED:
        raise ValidationError("该居民没有党员标识")
    member.party_badge = PartyBadge.NONE
    audit.record(actor, "party_badge.withdrawn", member, compound=member.compound)
    notify(member.id, NotificationKind.PARTY_BADGE, "书记已撤销您的党员标识，如有疑问请联系居委会")


def party_members(compound: Compound, cursor: str | None, limit: int) -> Page[User]:
    stmt = sa.select(User).where(User.compound_id == compound.id, User.party_badge == PartyBadge.CONFIRMED)
    return keyset_page(stmt, User, cursor, limit, newest_first=False)


def party_badge_requests(compound: Compound, cursor: str | None, limit: int) -> Page[User]:
    stmt = sa.select(User).where(User.compound_id == compound.id, User.party_badge == PartyBadge.REQUESTED)
    return keyset_page(stmt, User, cursor, limit, newest_first=False)
