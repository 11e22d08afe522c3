"""me_too.user_id and ballots.voter_id may be NULL: an account that leaves (注销) keeps no row
leading from it to its household, while the household's 我也遇到 and vote still count; me_too.user_id
gets an index for that update

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('me_too', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_me_too_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.alter_column('voter_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Rows of deleted accounts have no user left to point to: they stop the downgrade.
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.alter_column('voter_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('me_too', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_me_too_user_id'))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
