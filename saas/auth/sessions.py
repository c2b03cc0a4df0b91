"""Flask-Login wiring: a session belongs to one tenant and one session token."""

from __future__ import annotations

from flask import Flask, session
from flask_login import login_user
from sqlalchemy import select

from saas.auth.models import User, UserStatus
from saas.extensions import db, login_manager
from saas.i18n import _l
from saas.tenancy import current_tenant_id
from saas.web.ids import parse_id


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.localize_callback = str  # rendered in the request's language
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Accept a session only at its own tenant's URLs, with the user's current session token."""
    if current_tenant_id() is None:
        return None  # outside /<tenant>/ nobody is signed in (and scoped queries would raise)
    raw_id, _, token = user_id.partition(":")
    wanted = parse_id(raw_id)
    if wanted is None or not token:
        return None
    return db.session.execute(
        select(User).where(User.id == wanted, User.session_token == token,
                           User.status == UserStatus.ACTIVE.value)
    ).scalar_one_or_none()


def start_session(user: User) -> None:
    """Sign in with a fresh session: nothing from before the login survives it."""
    session.clear()
    login_user(user)
    session.permanent = False
