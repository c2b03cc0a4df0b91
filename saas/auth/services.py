"""Sign-up, login and passwords: the state changes of the front door."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import String, cast, func, select

from saas.admin import audit
from saas.auth.models import Licence, Role, Tenant, User, UserStatus, new_session_token
from saas.auth.passwords import hash_password, password_problem, verify_password
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import DEFAULT_LANGUAGE, _, is_language
from saas.tenancy import tenant_context
from saas.timeutil import time_zones, utcnow

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
RESERVED_SLUGS = frozenset(
    """
    about account accounts admin administrator api app apps assets auth billing blog cdn css
    dashboard demo-site docs download health help home img js legal login logout mail media
    new null pricing privacy public register root security settings signin signup static status
    support system t team terms test track tracking u unsubscribe user users webhook webhooks www
    """.split()
)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def slug_problem(slug: str) -> str | None:
    if not SLUG_RE.match(slug):
        return _("Use 3 to 40 lowercase letters, digits or hyphens, starting and ending "
                 "with a letter or digit.")
    if slug in RESERVED_SLUGS:
        return _("“%(slug)s” is reserved; choose another address.", slug=slug)
    taken = db.session.execute(select(Tenant.id).where(Tenant.slug == slug)).first()
    if taken:
        return _("“%(slug)s” is already taken; choose another address.", slug=slug)
    return None


def sign_up(*, org_name: str, slug: str, name: str, email: str, password: str,
            language: str = DEFAULT_LANGUAGE) -> User:
    """Create a tenant on a trial licence and its first user, a system administrator.
    `language` is the workspace's default language (one of saas.i18n.LANGUAGES)."""
    slug = slug.strip().lower()
    if not is_language(language):
        raise ServiceError(_("Choose one of the languages in the list."), "language")
    email = normalise_email(email)
    problem = slug_problem(slug)
    if problem:
        raise ServiceError(problem, "slug")
    problem = password_problem(password, personal=(name, email.split("@")[0], org_name, slug))
    if problem:
        raise ServiceError(problem, "password")
    tenant = Tenant(
        slug=slug,
        name=org_name.strip(),
        licence=Licence.SALES_ENTERPRISE.value,
        licence_trial_ends_at=utcnow() + timedelta(days=current_app.config["TRIAL_DAYS"]),
        language=language,
        settings={},
    )
    db.session.add(tenant)
    db.session.flush()
    with tenant_context(tenant.id):
        user = User(
            email=email,
            name=name.strip(),
            password_hash=hash_password(password),
            roles=[Role.SYSTEM_ADMINISTRATOR.value],
            status=UserStatus.ACTIVE.value,
        )
        db.session.add(user)
        db.session.flush()
        audit.record("tenant.signed_up", tenant.name, actor=user, slug=slug, language=language)
        db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user of the current tenant with these credentials, or None."""
    user = db.session.execute(
        select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def adopt_browser_zone(user: User, zone_name: str | None) -> bool:
    """At sign-in, take the browser's time zone for a user who never chose one on their
    profile. Anything but a known IANA zone name is ignored. True when the zone changed."""
    zone_name = (zone_name or "").strip()
    if user.time_zone_chosen or zone_name not in time_zones() or zone_name == user.time_zone:
        return False
    user.time_zone = zone_name
    db.session.commit()
    return True


def choose_time_zone(user: User, zone_name: str) -> None:
    """The user's own choice, on their profile: sign-in no longer follows the browser."""
    user.time_zone = zone_name
    user.time_zone_chosen = True
    db.session.commit()


def choose_language(user: User, language: str | None) -> None:
    """The user's own language (their profile, the user menu); None: the browser's, then the
    workspace's. Anything but one of saas.i18n.LANGUAGES changes nothing (ServiceError)."""
    if language is not None and not is_language(language):
        raise ServiceError(_("Choose one of the languages in the list."), "language")
    user.language = language
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise ServiceError(_("This is not your current password."), "current_password")
    set_password(user, new)
    audit.record("user.password_changed", user.email, actor=user)
    db.session.commit()


def set_password(user: User, new: str) -> None:
    """Set a password and end every other session of the user (new session token)."""
    problem = password_problem(new, personal=(user.name, user.email.split("@")[0]))
    if problem:
        raise ServiceError(problem, "password")
    user.password_hash = hash_password(new)
    user.session_token = new_session_token()


def sign_out(user: User) -> None:
    """End every session of the user: a session cookie copied before signing out (a shared
    computer, a stolen cookie) is refused after it. One session token per user, so signing out
    on one device signs out the others too."""
    user.session_token = new_session_token()
    db.session.commit()


def active_admins_count() -> int:
    return db.session.execute(
        select(func.count()).select_from(User).where(User.status == UserStatus.ACTIVE.value)
        .where(is_admin_clause())
    ).scalar_one()


def is_admin_clause():
    # roles is a small JSON list; matching its serialised form works on SQLite and PostgreSQL.
    return cast(User.roles, String).like(f'%"{Role.SYSTEM_ADMINISTRATOR.value}"%')
