"""cases: covering indexes for the street and district dashboards, so their figures are read from
the index alone, already in group order

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 06:20:00

"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FIGURE_COLUMNS = ["status", "satisfaction", "case_type_id", "deadline_at", "resolve_minutes", "closed_at"]
RESOLVE_COLUMNS = ["resolve_minutes", "status"]


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for level in ("street", "district"):
            batch_op.create_index(f'ix_cases_{level}_figures', [f'{level}_id', *FIGURE_COLUMNS], unique=False)
            batch_op.create_index(f'ix_cases_{level}_resolve', [f'{level}_id', *RESOLVE_COLUMNS], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for level in ("street", "district"):
            batch_op.drop_index(f'ix_cases_{level}_resolve')
            batch_op.drop_index(f'ix_cases_{level}_figures')
