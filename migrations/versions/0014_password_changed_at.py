"""users.password_changed_at: when the password was last set (the 等保 profile asks for a change
every 90 days); existing accounts count from their creation

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE users SET password_changed_at = created_at")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('password_changed_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
