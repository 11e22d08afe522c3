"""case_types belong to a district: each district gets its own copy of the global list (with the
defaults it lacks), cases point at their district's copy, and the global rows go

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 09:00:00

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

from community_board.cases.models import DEFAULT_CASE_TYPES


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

types = sa.table('case_types', sa.column('id', sa.Integer), sa.column('district_id', sa.Integer),
                 sa.column('name', sa.String), sa.column('sort_order', sa.Integer), sa.column('active', sa.Boolean))
cases = sa.table('cases', sa.column('case_type_id', sa.Integer), sa.column('district_id', sa.Integer))
districts = sa.table('districts', sa.column('id', sa.Integer))


def _repoint_cases(target_is):
    """Each case to the row named as its current type for which ``target_is(row)`` holds."""
    current, target = types.alias('current_type'), types.alias('target_type')
    op.execute(cases.update().values(case_type_id=(
        sa.select(target.c.id).join(current, current.c.name == target.c.name)
        .where(current.c.id == cases.c.case_type_id, target_is(target))
        .scalar_subquery()
    )))


@contextmanager
def _foreign_keys_off_on_sqlite():
    """SQLite rebuilds case_types (copy, drop, rename) while cases point at its rows. Its recipe for
    such changes: foreign keys off (only possible outside a transaction), change, check, on again."""
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute('PRAGMA foreign_keys=OFF')
    yield
    if sqlite:
        broken = op.get_bind().exec_driver_sql('PRAGMA foreign_key_check').all()
        if broken:
            raise RuntimeError(f'foreign keys broken by the case_types rebuild: {broken[:5]}')
        with op.get_context().autocommit_block():
            op.execute('PRAGMA foreign_keys=ON')


def upgrade():
    with _foreign_keys_off_on_sqlite():
        _upgrade(op.get_bind())


def downgrade():
    with _foreign_keys_off_on_sqlite():
        _downgrade(op.get_bind())


def _upgrade(bind):
    with op.batch_alter_table('case_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint('uq_case_types_name', type_='unique')
        batch_op.create_foreign_key(batch_op.f('fk_case_types_district_id_districts'), 'districts',
                                    ['district_id'], ['id'])

    shared = bind.execute(sa.select(types.c.name, types.c.sort_order, types.c.active)
                          .order_by(types.c.sort_order, types.c.id)).all()
    rows = [{'name': name, 'sort_order': order, 'active': active} for name, order, active in shared]
    last = max((row['sort_order'] for row in rows), default=0)
    missing = [name for name in DEFAULT_CASE_TYPES if name not in {row['name'] for row in rows}]
    rows += [{'name': name, 'sort_order': last + i, 'active': True} for i, name in enumerate(missing, start=1)]
    for district_id in bind.execute(sa.select(districts.c.id)).scalars().all():
        bind.execute(types.insert(), [{**row, 'district_id': district_id} for row in rows])
    _repoint_cases(lambda target: target.c.district_id == cases.c.district_id)
    op.execute(types.delete().where(types.c.district_id.is_(None)))

    with op.batch_alter_table('case_types', schema=None) as batch_op:
        batch_op.alter_column('district_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_case_types_district_id_name'), ['district_id', 'name'])


def _downgrade(bind):
    with op.batch_alter_table('case_types', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_types_district_id_districts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_case_types_district_id_name'), type_='unique')
        batch_op.alter_column('district_id', existing_type=sa.Integer(), nullable=True)

    # One global row per name: active if any district uses it.
    merged = {}
    for name, order, active in bind.execute(sa.select(types.c.name, types.c.sort_order, types.c.active)
                                            .order_by(types.c.sort_order, types.c.id)):
        order_seen, active_seen = merged.get(name, (order, False))
        merged[name] = (min(order, order_seen), active_seen or active)
    if merged:
        bind.execute(types.insert(), [{'name': name, 'sort_order': order, 'active': active, 'district_id': None}
                                      for name, (order, active) in merged.items()])
    _repoint_cases(lambda target: target.c.district_id.is_(None))
    op.execute(types.delete().where(types.c.district_id.is_not(None)))

    with op.batch_alter_table('case_types', schema=None) as batch_op:
        batch_op.drop_column('district_id')
        batch_op.create_unique_constraint(batch_op.f('uq_case_types_name'), ['name'])
