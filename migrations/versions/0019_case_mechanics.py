"""Case mechanics (issue 14): a 包案人 per case (cases.owner_id); each department's part of a case
(主办/协办, 签收 with its limit, done/returned/released) on case_departments; events that name the
department whose part they move; 延期 requests; the districts' working-day calendars

Existing cases: the compound staff member who filed a case owns it (else the compound's 书记); the
department whose staff accepted (or else resolved) a case leads it, else the first dispatched; a
department signed for its part when its staff accepted the case (that event records it) or, on an
open case, worked on it (a system event, dated now, says so); every other part waits to be signed.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 18:00:00

"""
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

from community_board.cases.workdays import add_working_days


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

ENUM = dict(native_enum=False, length=24)
PART_ROLES = sa.Enum('lead', 'assist', name='partrole', **ENUM)
PART_STATUSES = sa.Enum('pending', 'acknowledged', 'done', 'returned', 'released', name='partstatus', **ENUM)
OPEN = {'filed', 'dispatched', 'in_progress', 'returned'}
NEW_KINDS = ('acknowledged', 'returned', 'part_done', 'released', 'ack_overdue', 'extension_requested',
             'extension_approved', 'extension_refused', 'owner_changed', 'corrected')

cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('compound_id', sa.Integer),
                 sa.column('status', sa.String), sa.column('priority', sa.String),
                 sa.column('owner_id', sa.Integer), sa.column('updated_at', sa.DateTime))
parts = sa.table('case_departments', sa.column('case_id', sa.Integer), sa.column('department_id', sa.Integer),
                 sa.column('dispatched_at', sa.DateTime), sa.column('role', sa.String),
                 sa.column('status', sa.String), sa.column('ack_due_at', sa.DateTime),
                 sa.column('acknowledged_at', sa.DateTime))
events = sa.table('case_events', sa.column('id', sa.Integer), sa.column('case_id', sa.Integer),
                  sa.column('kind', sa.String), sa.column('actor_id', sa.Integer),
                  sa.column('actor_label', sa.String), sa.column('from_status', sa.String),
                  sa.column('to_status', sa.String), sa.column('public_note', sa.String),
                  sa.column('internal_note', sa.String), sa.column('created_at', sa.DateTime),
                  sa.column('department_id', sa.Integer), sa.column('part_status', sa.String))
assignments = sa.table('staff_assignments', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                       sa.column('role', sa.String), sa.column('compound_id', sa.Integer),
                       sa.column('department_id', sa.Integer))


def _sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def _add_reference(table, column, target):
    """A nullable column pointing at ``target``.id: SQLite adds it with its REFERENCES clause in place
    (no table rebuild, which the tables pointing at ``cases`` would refuse)."""
    if _sqlite():
        op.execute(f'ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)')
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(f'fk_{table}_{column}_{target}'), table, target, [column], ['id'])


@contextmanager
def _foreign_keys_off_on_sqlite():
    """Dropping those columns rebuilds cases and case_events on SQLite while other tables point at
    their rows: foreign keys off (only outside a transaction), change, check, on again (as in 0011)."""
    sqlite = _sqlite()
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute('PRAGMA foreign_keys=OFF')
    yield
    if sqlite:
        broken = op.get_bind().exec_driver_sql('PRAGMA foreign_key_check').all()
        if broken:
            raise RuntimeError(f'foreign keys broken by the rebuild: {broken[:5]}')
        with op.get_context().autocommit_block():
            op.execute('PRAGMA foreign_keys=ON')


def upgrade():
    _add_reference('cases', 'owner_id', 'users')
    op.create_index(op.f('ix_cases_owner_id'), 'cases', ['owner_id'], unique=False)
    _add_reference('case_events', 'department_id', 'departments')
    op.add_column('case_events', sa.Column('part_status', PART_STATUSES, nullable=True))
    with op.batch_alter_table('case_departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', PART_ROLES, nullable=True))
        batch_op.add_column(sa.Column('status', PART_STATUSES, nullable=True))
        batch_op.add_column(sa.Column('ack_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ack_flagged_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(), nullable=True))

    _move_existing_cases(op.get_bind())

    with op.batch_alter_table('case_departments', schema=None) as batch_op:  # not pointed at: rebuilt freely
        batch_op.alter_column('role', existing_type=PART_ROLES, nullable=False)
        batch_op.alter_column('status', existing_type=PART_STATUSES, nullable=False)
        batch_op.alter_column('ack_due_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index('ix_case_departments_status_ack_due', ['status', 'ack_due_at'], unique=False)

    op.create_table('case_extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('old_deadline_at', sa.DateTime(), nullable=False),
    sa.Column('new_deadline_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'refused', name='extensionstatus', **ENUM), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_extensions_case_id_cases')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_case_extensions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_case_extensions_department_id_departments')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_case_extensions_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_extensions'))
    )
    with op.batch_alter_table('case_extensions', schema=None) as batch_op:
        batch_op.create_index('ix_case_extensions_case', ['case_id', 'id'], unique=False)
        batch_op.create_index('uq_case_extensions_one_pending', ['case_id'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))

    op.create_table('calendar_days',
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_calendar_days_district_id_districts')),
    sa.PrimaryKeyConstraint('district_id', 'day', name=op.f('pk_calendar_days'))
    )


def _ack_due(dispatched_at, priority):
    """The default limits (config.CASE_ACK_LIMITS), weekends off: the calendars are new."""
    return dispatched_at + timedelta(hours=2) if priority == 'urgent' else add_working_days(dispatched_at, 1, {})


def _move_existing_cases(bind):
    staff_of_compound = defaultdict(list)  # compound -> [(is not the 书记, assignment id, user)]
    department_of = defaultdict(set)  # user -> departments they work for
    for user_id, role, compound_id, department_id, assignment_id in bind.execute(sa.select(
            assignments.c.user_id, assignments.c.role, assignments.c.compound_id, assignments.c.department_id,
            assignments.c.id)):
        if role in ('secretary', 'committee') and compound_id is not None:
            staff_of_compound[compound_id].append((role != 'secretary', assignment_id, user_id))
        elif role == 'department' and department_id is not None:
            department_of[user_id].add(department_id)
    for staff in staff_of_compound.values():
        staff.sort()

    case_rows = {row.id: row for row in bind.execute(sa.select(cases.c.id, cases.c.compound_id, cases.c.status,
                                                               cases.c.priority))}
    filed_by = dict(bind.execute(sa.select(events.c.case_id, events.c.actor_id).where(events.c.kind == 'filed')).all())
    owners = []
    for case_id, case in case_rows.items():
        staff = staff_of_compound.get(case.compound_id, [])
        filer = filed_by.get(case_id)
        owner = filer if any(user == filer for _, _, user in staff) else (staff[0][2] if staff else None)
        if owner is not None:
            owners.append({'p_case': case_id, 'p_owner': owner})
    if owners:
        bind.execute(cases.update().where(cases.c.id == sa.bindparam('p_case'))
                     .values(owner_id=sa.bindparam('p_owner')), owners)

    dispatched = defaultdict(list)
    for case_id, department_id, dispatched_at in bind.execute(
            sa.select(parts.c.case_id, parts.c.department_id, parts.c.dispatched_at)
            .order_by(parts.c.case_id, parts.c.dispatched_at, parts.c.department_id)):
        dispatched[case_id].append((department_id, dispatched_at))
    history = defaultdict(list)
    for row in bind.execute(sa.select(events.c.id, events.c.case_id, events.c.kind, events.c.actor_id,
                                      events.c.created_at).order_by(events.c.case_id, events.c.created_at,
                                                                    events.c.id)):
        if row.case_id in dispatched:
            history[row.case_id].append(row)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    part_rows, annotated, inserted, touched = [], [], [], []
    for case_id, departments in dispatched.items():
        case, ids, timeline = case_rows[case_id], [d for d, _ in departments], history[case_id]

        def departments_of(event):
            return [d for d in ids if d in department_of.get(event.actor_id, ())]

        accepted = {}  # department -> the 接单处置 its staff wrote: its 签收
        first_work = {}  # department -> its staff's first event on the case
        for event in timeline:
            for department_id in departments_of(event):
                first_work.setdefault(department_id, event)
                if event.kind == 'accepted':
                    accepted.setdefault(department_id, event)
        doers = [d for kind in ('accepted', 'resolved') for e in timeline if e.kind == kind for d in departments_of(e)]
        lead = doers[0] if doers else ids[0]
        for department_id, dispatched_at in departments:
            signed = accepted.get(department_id) or (first_work.get(department_id) if case.status in OPEN else None)
            part_rows.append({
                'p_case': case_id, 'p_department': department_id,
                'p_role': 'lead' if department_id == lead else 'assist',
                'p_status': 'acknowledged' if signed is not None else 'pending',
                'p_due': _ack_due(dispatched_at, case.priority),
                'p_signed': signed.created_at if signed is not None else None,
            })
            if signed is None:
                continue
            if signed.kind == 'accepted':
                annotated.append({'p_event': signed.id, 'p_department': department_id})
            else:  # worked on an open case without a step that says it signed: say so now
                inserted.append({
                    'case_id': case_id, 'kind': 'acknowledged', 'actor_id': None, 'actor_label': '系统',
                    'from_status': None, 'to_status': None, 'public_note': '',
                    'internal_note': f'按升级前的办理记录视为已签收（{signed.created_at:%m-%d %H:%M}首次办理）',
                    'created_at': now, 'department_id': department_id, 'part_status': 'acknowledged',
                })
                touched.append({'p_case': case_id})
    if part_rows:
        bind.execute(parts.update().where(parts.c.case_id == sa.bindparam('p_case'),
                                          parts.c.department_id == sa.bindparam('p_department'))
                     .values(role=sa.bindparam('p_role'), status=sa.bindparam('p_status'),
                             ack_due_at=sa.bindparam('p_due'), acknowledged_at=sa.bindparam('p_signed')),
                     part_rows)
    if annotated:
        bind.execute(events.update().where(events.c.id == sa.bindparam('p_event'))
                     .values(department_id=sa.bindparam('p_department'), part_status='acknowledged'), annotated)
    if inserted:
        bind.execute(events.insert(), inserted)
        bind.execute(cases.update().where(cases.c.id == sa.bindparam('p_case')).values(updated_at=now), touched)


def downgrade():
    bind = op.get_bind()
    # The old workflow knows none of the new steps: a case sent back waits to be dispatched again (its
    # departments were dispatched already), and the new steps stay on the timeline as internal notes.
    bind.execute(cases.update().where(cases.c.status == 'returned').values(status='dispatched'))
    bind.execute(events.update().where(events.c.from_status == 'returned')
                 .values(from_status=None, to_status=None))
    bind.execute(events.update().where(events.c.to_status == 'returned')
                 .values(kind='note', from_status=None, to_status=None))
    bind.execute(events.update().where(events.c.kind.in_(NEW_KINDS)).values(kind='note'))
    op.drop_table('calendar_days')
    with op.batch_alter_table('case_extensions', schema=None) as batch_op:
        batch_op.drop_index('uq_case_extensions_one_pending')
        batch_op.drop_index('ix_case_extensions_case')
    op.drop_table('case_extensions')
    with op.batch_alter_table('case_departments', schema=None) as batch_op:
        batch_op.drop_index('ix_case_departments_status_ack_due')
        for column in ('finished_at', 'ack_flagged_at', 'acknowledged_at', 'ack_due_at', 'status', 'role'):
            batch_op.drop_column(column)
    with _foreign_keys_off_on_sqlite():
        with op.batch_alter_table('case_events', schema=None) as batch_op:
            batch_op.drop_column('part_status')
            batch_op.drop_column('department_id')
        with op.batch_alter_table('cases', schema=None) as batch_op:
            batch_op.drop_index(batch_op.f('ix_cases_owner_id'))
            batch_op.drop_column('owner_id')
