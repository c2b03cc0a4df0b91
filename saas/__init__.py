"""The application factory: a table of contents of the house."""

from __future__ import annotations

import os

from flask import Flask

from saas import config as config_module


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment; `config` overrides (tests pass their own)."""
    app = Flask(
        __name__,
        template_folder=str(config_module.PROJECT_ROOT / "templates"),
        static_folder=str(config_module.PROJECT_ROOT / "static"),
        instance_path=str(config_module.INSTANCE_DIR),
    )
    settings = config_module.load({**os.environ, **(config or {})})
    app.config.update(settings.as_flask_config())
    app.config.update({k: v for k, v in (config or {}).items()
                       if k not in config_module.ENV_VARS})
    register_extensions(app)
    register_blueprints(app)
    register_security(app)
    register_templates(app)
    register_errorhandlers(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from saas import models  # noqa: F401 - every model registered before migrations run
    from saas.auth.sessions import init_login
    from saas.auth.tenants import register_tenancy
    from saas.extensions import babel, csrf, db, limiter, migrate
    from saas.i18n import select_locale
    from saas.wiring import connect_listeners

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config_module.INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(
        config_module.PROJECT_ROOT / "saas" / "translations"))
    init_login(app)
    register_tenancy(app)
    connect_listeners()  # who follows what the lower floors announce (saas/wiring.py)


def register_blueprints(app: Flask) -> None:
    from saas.admin.routes import bp as admin_bp
    from saas.analytics.routes import bp as analytics_bp
    from saas.api.openapi import docs_bp as api_docs_bp
    from saas.api.routes import bp as api_bp
    from saas.api.settings_routes import bp as api_keys_bp
    from saas.auth.routes import bp as auth_bp
    from saas.auth.routes import public_bp
    from saas.calendars.routes import bp as calendars_bp
    from saas.engine.reply_routes import bp as replies_bp
    from saas.engine.routes import bp as engine_bp
    from saas.engine.sender_routes import bp as senders_bp
    from saas.imports.routes import bp as imports_bp
    from saas.messaging.routes import bp as messaging_bp
    from saas.outbound.routes import bp as outbound_bp
    from saas.records.routes import bp as records_bp
    from saas.segments.assignment_routes import account_bp
    from saas.segments.assignment_routes import bp as assignment_bp
    from saas.segments.routes import bp as segments_bp
    from saas.sellers.routes import bp as sellers_bp
    from saas.sequences import designer_routes, routes  # noqa: F401 - their views on the bp
    from saas.sequences.blueprint import bp as sequences_bp
    from saas.templates_.routes import bp as templates_bp
    from saas.webhooks.routes import bp as webhooks_bp
    from saas.webhooks.tracking_routes import bp as tracking_bp
    from saas.worklist.routes import bp as worklist_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(analytics_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(segments_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(sequences_bp)
    app.register_blueprint(templates_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(messaging_bp)
    app.register_blueprint(tracking_bp)
    app.register_blueprint(assignment_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(sellers_bp)
    app.register_blueprint(worklist_bp)
    app.register_blueprint(engine_bp)
    app.register_blueprint(replies_bp)
    app.register_blueprint(senders_bp)
    app.register_blueprint(outbound_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_docs_bp)
    app.register_blueprint(api_keys_bp)
    app.register_blueprint(calendars_bp)


def register_security(app: Flask) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from saas.web.security import add_security_headers

    app.after_request(add_security_headers)
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        # The client's address and scheme, from the proxies we run and from nobody else (a
        # client's own X-Forwarded-For is left of them). The Host is not taken from them:
        # links are built from PUBLIC_URL.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0,
                                x_prefix=0)


def register_templates(app: Flask) -> None:
    from saas.auth.models import Role
    from saas.i18n import LANGUAGES
    from saas.records.fields import sequence_settable
    from saas.web import dates, numbers

    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["sequence_settable"] = sequence_settable
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["UI_LANGUAGES"] = LANGUAGES
    dates.register(app)
    numbers.register(app)


def register_errorhandlers(app: Flask) -> None:
    from saas.web.errors import register

    register(app)


def register_cli(app: Flask) -> None:
    from saas.cli import register

    register(app)
