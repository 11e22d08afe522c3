"""Who may see a post is one definition with a Python and an SQL form: they must agree, and each
feature's object rules are declared once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from board_helpers import make_post
from civic_helpers import ask
from flask import current_app
from line_helpers import write_to_line

from community_board.board import services as board_services
from community_board.board import visibility
from community_board.board.models import Post
from community_board.compounds.models import StaffRole
from community_board.extensions import db
from community_board.permissions import Action, can, register_rules


def _roles(user, compound) -> frozenset[StaffRole]:
    return frozenset(a.role for a in user.assignments if a.compound_id in (None, compound.id))


def test_the_python_and_sql_forms_of_visibility_agree(world, resident, secretary, committee, officer):
    compound = world.compound_a
    neighbour = world.resident(compound, name="吴刚", building="6", room="601")
    public = make_post(resident, compound, title="楼道灯坏了")
    private = ask(resident, title="想私下反映", private=True)
    hidden = make_post(neighbour, compound, title="推销广告")
    board_services.hide(secretary, hidden, "广告")
    deleted = make_post(neighbour, compound, title="发错了")
    board_services.delete_post(neighbour, deleted)
    db.session.commit()
    message = write_to_line(resident, title="想私信居委会")
    posts = [public, private, hidden, deleted, message]

    for viewer in (resident, neighbour, secretary, committee, officer):
        roles = _roles(viewer, compound)
        moderator = can(viewer, Action.MODERATE, compound)
        kinds_read = visibility.private_kinds_read(viewer, compound)
        listed_sql = set(
            db.session.scalars(
                sa.select(Post.id).where(
                    Post.compound_id == compound.id,
                    visibility.in_circulation_sql(hidden_too=moderator),
                    visibility.reads_private_sql(viewer, kinds_read),
                )
            )
        )
        listed_python = {
            p.id
            for p in posts
            if (visibility.in_circulation(p) or (moderator and p.deleted_at is None))
            and visibility.reads_private(p, viewer, roles)
        }
        assert listed_sql == listed_python, viewer.real_name
        assert (private.id in listed_sql) == (viewer in (resident, secretary, officer))
        assert (message.id in listed_sql) == (viewer in (resident, secretary, committee))
        assert (hidden.id in listed_sql) == moderator
        assert deleted.id not in listed_sql


def test_a_second_rule_for_an_action_is_refused():
    with pytest.raises(RuntimeError, match="registered already"):
        register_rules(current_app, {Action.EDIT_POST: (lambda user, post, roles: None, "")})
