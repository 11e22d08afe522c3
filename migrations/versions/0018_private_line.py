"""私信居委会 and 发帖必响应: the private line's section; on posts, the first staff response
(first_response_at, first_response_minutes, filled for existing residents' posts from their first
staff reply or their case, whichever came first) and the line's handler and end; an index for the
queue of posts still waiting for a response. Messages to the 居委会 stop the downgrade.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs: on SQLite a batch would copy the whole posts table (a foreign key cannot be
    # added to it otherwise), so the handler's REFERENCES goes inline there.
    op.add_column('posts', sa.Column('first_response_at', sa.DateTime(), nullable=True))
    op.add_column('posts', sa.Column('first_response_minutes', sa.Integer(), nullable=True))
    op.add_column('posts', sa.Column('line_closed_at', sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        op.add_column(
            'posts',
            sa.Column('line_handler_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
            inline_references=True,
        )
    else:
        op.add_column('posts', sa.Column('line_handler_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_posts_line_handler_id_users'), 'posts', 'users', ['line_handler_id'], ['id'])
    op.create_index(
        'ix_posts_compound_awaiting', 'posts', ['compound_id', 'first_response_at', 'created_at', 'id'], unique=False
    )

    sections = sa.table(
        'sections',
        sa.column('key', sa.String), sa.column('name', sa.String), sa.column('description', sa.String),
        sa.column('sort_order', sa.Integer), sa.column('who_may_post', sa.String), sa.column('fields', sa.String),
    )
    op.bulk_insert(sections, [{
        "key": "line", "name": "私信居委会", "description": "只有您和居委会能看到", "sort_order": 100,
        "who_may_post": "members", "fields": "private_line",
    }])

    # Residents' posts answered before: the first staff reply (书记, 居委会, 民警), or the case if filed earlier.
    op.execute(
        "UPDATE posts SET first_response_at = (SELECT MIN(replies.created_at) FROM replies"
        " WHERE replies.post_id = posts.id AND replies.author_role <> 'resident')"
        " WHERE author_role = 'resident'"
    )
    op.execute(
        "UPDATE posts SET first_response_at = (SELECT cases.created_at FROM cases WHERE cases.post_id = posts.id)"
        " WHERE author_role = 'resident' AND EXISTS (SELECT 1 FROM cases WHERE cases.post_id = posts.id"
        " AND (posts.first_response_at IS NULL OR cases.created_at < posts.first_response_at))"
    )
    if op.get_bind().dialect.name == 'sqlite':
        seconds = "(julianday(first_response_at) - julianday(created_at)) * 86400 + 0.0005"
        minutes = f"CAST({seconds} AS INTEGER) / 60"
    else:
        minutes = "CAST(FLOOR(EXTRACT(EPOCH FROM (first_response_at - created_at)) / 60) AS INTEGER)"
    op.execute(f"UPDATE posts SET first_response_minutes = {minutes} WHERE first_response_at IS NOT NULL")


def downgrade():
    op.execute("DELETE FROM sections WHERE key = 'line'")
    op.drop_index('ix_posts_compound_awaiting', table_name='posts')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_posts_line_handler_id_users'), 'posts', type_='foreignkey')
    for column in ('line_handler_id', 'line_closed_at', 'first_response_minutes', 'first_response_at'):
        op.drop_column('posts', column)  # in place on SQLite 3.35+ too
