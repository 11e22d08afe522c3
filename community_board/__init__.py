"""邻里通 Community Board: the application factory, a table of contents of the app."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module

from . import logs

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: object | str | None = None, **overrides) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(config_module.instance_dir()),
    )
    settings = config if isinstance(config, config_module.Config) else config_module.load(config)
    app.config.from_object(settings)
    app.config.update(overrides)
    config_module.check_production(app.config)
    logs.init_app(app)  # first: every request's log path is noted before anything can fail

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _init_extensions(app)
    _init_templates(app)  # before the features, which may refine a filter (board: humanize)
    _register_blueprints(app)

    from . import cli, errors, security

    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    if app.config.get("BENCH_CEILING"):
        _add_ceiling_route(app)
    return app


def _add_ceiling_route(app: Flask) -> None:
    """`make bench` only: the base template with 20 static cards and no database, the yardstick
    every real page is measured against."""
    from flask import render_template

    app.add_url_rule("/_bench/ceiling", "bench_ceiling", lambda: render_template("bench/ceiling.html"))


def _init_extensions(app: Flask) -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import joinedload, with_expression

    from . import (
        audit,  # noqa: F401  (registers the audit model)
        caching,
    )
    from .accounts import sessions
    from .accounts.models import User
    from .extensions import (
        configure_postgresql,
        configure_sqlite,
        configure_transactions,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )
    from .grids import models as _grids  # noqa: F401  (a staff assignment names its grid)

    db.init_app(app)
    caching.init_app(app)
    from .search.models import outside_the_models

    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), render_as_batch=True, include_object=outside_the_models
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "info"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
        elif db.engine.dialect.name == "postgresql":
            configure_postgresql(db.engine)
        configure_transactions(db.engine)

    from .notifications.services import unread_count_of
    from .web import int_or_none

    # One query per request for the user, their roles, compound and unread count. The statement is
    # built once: session.get(..., options=...) would rebuild and re-key it on every request.
    # Only what every page needs: a role's department and a compound's street load when used.
    signed_in_user = (
        sa.select(User)
        .where(User.id == sa.bindparam("user_id"))
        .options(
            joinedload(User.assignments),
            joinedload(User.compound),
            with_expression(User.unread_messages, unread_count_of(User.id)),
        )
    )

    @login_manager.user_loader
    def load_user(token: str):
        # The token carries the session version: logout or a password change elsewhere ends it.
        user_id, _, version = token.partition(":")
        user_id = int_or_none(user_id)
        if user_id is None or not version.isdigit():
            return None
        user = db.session.execute(signed_in_user, {"user_id": user_id}).unique().scalar_one_or_none()
        if user is None or user.session_version != int(version) or not user.active:
            return None
        return user if sessions.still_active(user) else None


def _register_blueprints(app: Flask) -> None:
    from . import board, cases, deliberation, grids, line, responses
    from .accounts import bp as accounts_bp
    from .compounds import bp as compounds_bp
    from .notifications import bp as notifications_bp
    from .police import bp as police_bp
    from .search import bp as search_bp
    from .web import URL_CONVERTERS

    app.url_map.converters.update(URL_CONVERTERS)  # bounded ids and tokens in every route, before any is added
    app.register_blueprint(accounts_bp)
    app.register_blueprint(compounds_bp)
    # These features also declare their object rules, text freezes and what their cached pages show.
    board.init_app(app)
    cases.init_app(app)
    deliberation.init_app(app)
    grids.init_app(app)
    line.init_app(app)
    responses.init_app(app)
    app.register_blueprint(police_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(notifications_bp)


def _init_templates(app: Flask) -> None:
    from .accounts import people
    from .audit import action_label
    from .permissions import Action, can, is_staff
    from .privacy import masked_id_number, masked_phone, surname
    from .timeutil import format_local, humanize

    app.jinja_env.filters["local_time"] = format_local
    app.jinja_env.filters["humanize"] = humanize
    app.jinja_env.filters["masked_phone"] = masked_phone
    app.jinja_env.filters["masked_id_number"] = masked_id_number
    app.jinja_env.filters["surname"] = surname
    app.jinja_env.filters["audit_label"] = action_label
    app.jinja_env.filters["merge_args"] = lambda args, **updates: urlencode({**args.to_dict(), **updates})
    app.jinja_env.globals.update(can=can, Action=Action, is_staff=is_staff)
    people.init_templates(app)

    @app.context_processor
    def _unread_messages():
        from flask_login import current_user

        from .notifications.services import unread_count

        if not current_user.is_authenticated:
            return {}
        count = current_user.unread_messages
        return {"unread_messages": unread_count(current_user.id) if count is None else count}

    app.jinja_env.globals["weui_vendored"] = (ROOT / "static" / "vendor" / "weui" / "weui.min.css").exists()
