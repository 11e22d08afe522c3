from flask import Blueprint, Flask

bp = Blueprint("board", __name__)

from . import views  # noqa: E402,F401  (the routes)

# Shown with what residents write, or deciding what the post page offers them (我也遇到 per household).
RESIDENT_FIELDS = (
    "real_name",
    "salutation",
    "building",
    "party_badge",
    "resident_status",
    "household_id",
    "deleted_at",
)


def init_app(app: Flask) -> None:
    """The board's routes, its object rules, and what its cached pages show."""
    from .. import caching
    from ..accounts.models import User
    from ..compounds.models import Compound
    from ..permissions import register_rules
    from .models import Like, MeToo, Photo, Post, Reply
    from .rules import RULES

    app.register_blueprint(bp)
    register_rules(app, RULES)
    # What board pages (cached_parts.py) show, and the compound whose board shows it.
    caching.depends_on(Compound, compound=Compound.id)  # the banner: name, counts
    caching.depends_on(Post, compound=Post.compound_id)
    caching.depends_on(Reply, compound=Reply.compound_id)
    for model in (Like, Photo, MeToo):
        caching.depends_on(model, post=model.post_id)
    caching.depends_on(User, compound=User.compound_id, fields=RESIDENT_FIELDS)
