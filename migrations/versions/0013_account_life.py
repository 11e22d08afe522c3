"""Account life: password reset codes (hash only), pending changes of name or address, 禁言 and
注销 on users

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:43:41

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('details_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=False),
    sa.Column('real_name', sa.String(length=40), nullable=False),
    sa.Column('salutation', sa.Enum('mr', 'ms', name='salutation', native_enum=False, length=24), nullable=False),
    sa.Column('building', sa.String(length=8), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('room', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_details_changes_compound_id_compounds')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_details_changes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_details_changes')),
    sa.UniqueConstraint('user_id', name=op.f('uq_details_changes_user_id'))
    )
    with op.batch_alter_table('details_changes', schema=None) as batch_op:
        batch_op.create_index('ix_details_changes_compound_created', ['compound_id', 'created_at', 'id'], unique=False)

    op.create_table('reset_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_reset_codes_issued_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reset_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reset_codes')),
    sa.UniqueConstraint('user_id', name=op.f('uq_reset_codes_user_id'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('suspended_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('suspension_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('suspension_reason')
        batch_op.drop_column('suspended_until')
        batch_op.drop_column('suspended_at')

    op.drop_table('reset_codes')
    with op.batch_alter_table('details_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_details_changes_compound_created')

    op.drop_table('details_changes')
