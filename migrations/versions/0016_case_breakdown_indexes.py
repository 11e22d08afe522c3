"""cases: the street and district dashboards' covering indexes also hold the compound, the level and
the filing time, so the breakdown by compound, the share solved at each level and a date range read
the index alone

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00

"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

OLD_COLUMNS = ["status", "satisfaction", "case_type_id", "deadline_at", "resolve_minutes", "closed_at"]
NEW_COLUMNS = [*OLD_COLUMNS, "compound_id", "level", "created_at"]


def _replace(columns):
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for level in ("street", "district"):
            batch_op.drop_index(f'ix_cases_{level}_figures')
            batch_op.create_index(f'ix_cases_{level}_figures', [f'{level}_id', *columns], unique=False)


def upgrade():
    _replace(NEW_COLUMNS)


def downgrade():
    _replace(OLD_COLUMNS)
