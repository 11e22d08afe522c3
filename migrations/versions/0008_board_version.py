"""compounds.board_version: moves on every change to what a compound's board shows, so lists
rendered for a viewer can be reused until it moves (board/versions.py)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 06:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('compounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('board_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('compounds', schema=None) as batch_op:
        batch_op.drop_column('board_version')
