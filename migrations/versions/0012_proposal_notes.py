"""proposal notes (补充说明): appended to a 议题 once someone voted, shown above the tally;
the 管理记录 of recorded outcomes says 已通过 (not "passed")

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# Outcome values as audit notes once stored them, and the labels shown now.
OUTCOME_LABELS = {'passed': '已通过', 'rejected': '未通过', 'shelved': '已搁置'}


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('proposal_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('author_role', sa.Enum('resident', 'secretary', 'staff', 'police', name='authorrole', native_enum=False, length=24), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposal_notes_author_id_users')),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_proposal_notes_compound_id_compounds')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_notes_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_notes'))
    )
    with op.batch_alter_table('proposal_notes', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_notes_proposal_created', ['proposal_id', 'created_at', 'id'], unique=False)

    _relabel_outcomes(OUTCOME_LABELS)


def _relabel_outcomes(mapping):
    audit_log = sa.table('audit_log', sa.column('action', sa.String), sa.column('note', sa.String))
    for old, new in mapping.items():
        op.execute(audit_log.update()
                   .where(audit_log.c.action == 'proposal.outcome', audit_log.c.note == old)
                   .values(note=new))


def downgrade():
    _relabel_outcomes({label: value for value, label in OUTCOME_LABELS.items()})
    with op.batch_alter_table('proposal_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_notes_proposal_created')

    op.drop_table('proposal_notes')
