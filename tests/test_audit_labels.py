"""管理记录 is read by secretaries: every entry in Chinese, whatever kind of action it records."""

import ast
import itertools
import re
from datetime import datetime
from html import unescape
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from board_helpers import make_post, make_reply, neighbour, signed_in, text_of
from civic_helpers import cast, open_proposal, pass_deadline

import config as config_module
from community_board import audit, create_app
from community_board.accounts import services as accounts
from community_board.accounts.models import Salutation
from community_board.board import services as board
from community_board.board.models import ReportReason
from community_board.compounds import services as compounds
from community_board.deliberation import services as deliberation
from community_board.deliberation.models import Outcome
from community_board.extensions import db

PACKAGE = Path(audit.__file__).parent


def _values(node: ast.expr) -> list[str] | None:
    """Every string an action argument can be: a literal, `a if x else b`, or an f-string of those."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _values(node.body), _values(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [_values(v.value if isinstance(v, ast.FormattedValue) else v) for v in node.values]
        return None if None in parts else ["".join(p) for p in itertools.product(*parts)]
    return None


def recorded_actions() -> dict[str, str]:
    """action → where it is recorded, for every audit.record(...) call in the app."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
            ):
                where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                if isinstance(node.args[1], ast.Name):
                    continue  # a parameter: its callers pass literals, and record() refuses unknown actions
                values = _values(node.args[1])
                assert values is not None, f"{where}: write the action as a literal so it can be checked"
                found.update(dict.fromkeys(values, where))
    return found


def test_every_action_the_app_records_has_a_chinese_label():
    actions = recorded_actions()
    assert len(actions) >= 20
    missing = {action: where for action, where in actions.items() if action not in audit.ACTION_LABELS}
    assert missing == {}
    assert not [label for label in audit.ACTION_LABELS.values() if re.search(r"[A-Za-z]", label)]
    assert audit.action_label("something.new") == "其他操作"


def log_entries(page: str) -> list[str]:
    """The text of each entry under 管理记录."""
    log = page[page.index("管理记录") :]
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
        for cell in re.findall(r'<div class="weui-cell">(.*?)</div>\s*</div>', log, re.S)
    ]


def test_every_entry_a_secretary_sees_is_in_chinese(app, monkeypatch, world, resident, secretary):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 100)  # every entry on one page
    compound = world.compound_a
    # 居民: registration, resubmission, verification, party badges, a password change.
    details = accounts.ResidentDetails(
        real_name="钱学明", salutation=Salutation.MR, building="8", unit="3", room="1102"
    )
    newcomer = accounts.register_resident(compound, "13912345678", "x", details)
    accounts.reject_resident(secretary, newcomer, "门牌号与物业登记不符")
    accounts.resubmit_details(newcomer, details)
    accounts.approve_resident(secretary, newcomer)
    accounts.request_party_badge(newcomer)
    accounts.decline_party_badge(secretary, newcomer)
    accounts.request_party_badge(newcomer)
    accounts.confirm_party_badge(secretary, newcomer)
    accounts.withdraw_party_badge(secretary, newcomer)
    accounts.change_password(resident, "x")
    compounds.rotate_join_code(secretary, compound)
    db.session.commit()
    # The board: every moderation step, a report dismissed, a post deleted by its author.
    post = make_post(resident, compound, title="楼下有人卖保健品")
    reply = make_reply(neighbour(world), post, "加微信领鸡蛋")
    board.report(newcomer, post, ReportReason.ADVERTISING)
    board.hide(secretary, post, "推销广告")
    board.restore(secretary, post)
    board.hide(secretary, post, "推销广告", reply)
    board.restore(secretary, post, reply)
    board.dismiss_reports(secretary, post)
    for flag in (True, False):
        board.set_pinned(secretary, post, flag)
        board.set_locked(secretary, post, flag)
    board.delete_post(resident, make_post(resident, compound, title="发错了"))
    db.session.commit()
    # 议事厅: an outcome of each kind.
    for outcome in Outcome:
        proposal = open_proposal(resident, compound, title=f"议题{outcome.label}")
        cast(resident, proposal, "赞成")
        deliberation.record_outcome(secretary, pass_deadline(proposal), outcome, "居委会将公示实施方案")
        db.session.commit()
    entries = log_entries(text_of(signed_in(secretary).get(f"/c/{compound.id}/moderation")))

    shown = {label for label in audit.ACTION_LABELS.values() if any(e.startswith(label) for e in entries)}
    # Every kind of entry the scenario wrote for the compound is shown by its label.
    recorded = set(
        db.session.scalars(sa.select(audit.AuditEntry.action).where(audit.AuditEntry.compound_id == compound.id))
    )
    assert len(recorded) >= 20
    assert {audit.ACTION_LABELS[a] for a in recorded} <= shown
    assert [outcome.label for outcome in Outcome if any(f"· {outcome.label}" in e for e in entries)] == [
        outcome.label for outcome in Outcome
    ]
    english = {entry: words for entry in entries if (words := re.findall(r"[A-Za-z]{2,}", entry))}
    assert english == {}


def test_outcomes_logged_in_english_before_are_relabelled_by_the_migration(tmp_path):
    settings = config_module.TestingConfig()
    settings.SECRET_KEY = "test-secret"
    settings.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app(settings)
    audit_log = sa.table(
        "audit_log",
        sa.column("action"),
        sa.column("target_type"),
        sa.column("target_id"),
        sa.column("note"),
        sa.column("created_at"),
    )
    with app.app_context():
        flask_migrate.upgrade(revision="0010")
        with db.engine.begin() as connection:
            connection.execute(
                audit_log.insert(),
                [
                    {
                        "action": action,
                        "target_type": "posts",
                        "target_id": 1,
                        "note": note,
                        "created_at": datetime(2026, 1, 1),
                    }
                    for action, note in [
                        ("proposal.outcome", "passed"),
                        ("proposal.outcome", "shelved"),
                        ("post.hidden", "passed"),
                    ]
                ],
            )
        flask_migrate.upgrade(revision="0012")
        with db.engine.connect() as connection:
            notes = connection.execute(sa.select(audit_log.c.action, audit_log.c.note).order_by(audit_log.c.note)).all()
        db.engine.dispose()
    assert sorted(notes) == [("post.hidden", "passed"), ("proposal.outcome", "已搁置"), ("proposal.outcome", "已通过")]
