"""The audit log: who did what to which object, and when. Never holds personal data.

Notes are shown to staff as they are stored: write them in Chinese (a label, a reason, a name)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .timeutil import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_compound_created", "compound_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    target_type: Mapped[str] = mapped_column(sa.String(20))
    target_id: Mapped[int]
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"))
    compound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("compounds.id"))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor = relationship("User")


def record(actor, action: str, target, *, compound=None, district_id: int | None = None, note: str = "") -> AuditEntry:
    """Add an audit row to the current transaction (the caller's commit makes it durable)."""
    if action not in ACTION_LABELS:  # every action is declared with the label staff read
        raise ValueError(f"audit action {action!r} has no label in ACTION_LABELS")
    if target.id is None:
        db.session.flush()
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=type(target).__tablename__,
        target_id=target.id,
        compound_id=compound.id if compound is not None else None,
        district_id=district_id if district_id is not None else (compound.district_id if compound else None),
        note=note[:200],
    )
    db.session.add(entry)
    return entry


# What staff read in 管理记录; every action recorded needs one (tests/test_audit_labels.py checks).
ACTION_LABELS = {
    "resident.registered": "居民注册",
    "resident.resubmitted": "居民重新提交资料",
    "resident.approved": "通过实名认证",
    "resident.rejected": "退回实名认证",
    "party_badge.requested": "申请党员亮身份",
    "party_badge.confirmed": "确认党员身份",
    "party_badge.declined": "退回党员身份申请",
    "party_badge.withdrawn": "撤销党员标识",
    "proposal.outcome": "记录议题决议",
    "account.password_changed": "修改密码",
    "account.reset_code_issued": "生成密码重置码",
    "account.password_reset": "用重置码设置新密码",
    "account.change_requested": "申请变更资料",
    "account.change_withdrawn": "撤回资料变更",
    "account.change_approved": "通过资料变更",
    "account.change_rejected": "退回资料变更",
    "account.phone_changed": "更换手机号",
    "account.deleted": "注销账号",
    "resident.moved_out": "居民搬离",
    "resident.suspended": "禁言",
    "resident.suspension_lifted": "解除禁言",
    "join_code.rotated": "更换注册二维码",
    "street.created": "新增街镇",
    "compound.created": "新增居民区",
    "department.created": "新增部门",
    "staff.assigned": "设置工作人员角色",
    "staff.revoked": "撤销工作人员角色",
    "staff.deactivated": "停用工作人员账号",
    "staff.reactivated": "恢复工作人员账号",
    "street.renamed": "街镇改名",
    "compound.renamed": "居民区改名",
    "department.renamed": "部门改名",
    "case_type.created": "新增案件类型",
    "case_type.disabled": "停用案件类型",
    "case_type.enabled": "启用案件类型",
    "calendar.day_set": "设置工作日历",
    "calendar.day_removed": "删除工作日历中的一天",
    "calendar.holidays_loaded": "导入法定节假日",
    "post.deleted": "作者删除帖子",
    "post.hidden": "隐藏帖子",
    "post.restored": "恢复帖子",
    "reply.hidden": "隐藏回复",
    "reply.restored": "恢复回复",
    "reports.dismissed": "驳回举报",
    "post.pinned": "置顶帖子",
    "post.unpinned": "取消置顶",
    "post.locked": "关闭回复",
    "post.unlocked": "开放回复",
    "grid.created": "新建网格",
    "grid.buildings_assigned": "楼栋划入网格",
    "grid.building_removed": "楼栋移出网格",
    "grid.phone_set": "设置网格工作电话",
    "grid.member_added": "加入一格三员",
    "grid.member_removed": "移出一格三员",
    "household.added": "登记住户",
    "household.updated": "更新一户一档",
    "household.member_added": "添加家庭成员",
    "household.member_removed": "移除家庭成员",
    "household.care_tags_set": "设置关爱标签",
    "visit.recorded": "记录民情日记",
    "visit.case_raised": "代发工单",
    "care_tag.created": "新增关爱标签",
    "care_tag.disabled": "停用关爱标签",
    "care_tag.enabled": "启用关爱标签",
    "line.taken": "受理私信",
    "line.assigned": "指派私信",
    "line.closed": "办结私信",
    "line.reopened": "重新打开私信",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, "其他操作")  # never the English code
