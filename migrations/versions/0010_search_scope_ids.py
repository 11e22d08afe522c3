"""search_documents: (scope, id) indexes, so a search reads a scope's newest documents in order
(PostgreSQL reads them before asking its full-text index); the (compound, created_at) index
search no longer uses goes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 07:35:00

"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SCOPES = ("compound", "street", "district")


def upgrade():
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_compound_created')
        for scope in SCOPES:
            batch_op.create_index(f'ix_search_documents_{scope}_newest', [f'{scope}_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        for scope in SCOPES:
            batch_op.drop_index(f'ix_search_documents_{scope}_newest')
        batch_op.create_index('ix_search_documents_compound_created', ['compound_id', 'created_at', 'id'],
                              unique=False)
