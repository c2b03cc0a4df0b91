"""What a system administrator changes: users and roles, the licence, the workspace."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from saas.admin import audit
from saas.auth import tokens
from saas.auth.models import Licence, Role, Tenant, User, UserStatus, new_session_token
from saas.auth.services import active_admins_count, normalise_email, set_password
from saas.auth.tenants import current_tenant
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, is_language, ngettext, speaking
from saas.messaging.outbox import store_email
from saas.timeutil import utcnow

LinkMaker = Callable[[str], str]


def _clean_roles(roles: list[str]) -> list[str]:
    valid = [r.value for r in Role if r.value in roles]
    if not valid:
        raise ServiceError(_("Choose at least one role."), "roles")
    return valid


def _lock_tenant() -> Tenant:
    """Serialise admin changes of one tenant (the last-admin rule must hold under concurrency)."""
    tenant = current_tenant()
    db.session.execute(select(Tenant.id).where(Tenant.id == tenant.id).with_for_update())
    return tenant


def _ensure_another_admin_remains(user: User) -> None:
    if user.is_admin and user.is_active and active_admins_count() <= 1:
        raise ServiceError(
            _("This is the last active system administrator; make someone else a system "
              "administrator first."), "roles")


def invite_user(*, email: str, name: str, roles: list[str], inviter: User,
                accept_link: LinkMaker) -> User:
    email = normalise_email(email)
    roles = _clean_roles(roles)
    existing = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if existing is not None:
        raise ServiceError(_("%(email)s is already a user of this organization.", email=email),
                           "email")
    user = User(email=email, name=name.strip(), roles=roles, status=UserStatus.INVITED.value)
    db.session.add(user)
    db.session.flush()
    _send_invite(user, inviter, accept_link)
    audit.record("user.invited", email, roles=roles)
    db.session.commit()
    return user


def resend_invite(user: User, inviter: User, accept_link: LinkMaker) -> None:
    if user.status != UserStatus.INVITED:
        raise ServiceError(_("%(email)s has already accepted the invitation.", email=user.email))
    user.session_token = new_session_token()  # earlier links stop working
    _send_invite(user, inviter, accept_link)
    audit.record("user.invite_resent", user.email)
    db.session.commit()


def _send_invite(user: User, inviter: User, accept_link: LinkMaker) -> None:
    tenant = current_tenant()
    token = tokens.make_token(
        tokens.INVITE, {"uid": user.id, "t": tenant.id, "n": user.session_token})
    link = accept_link(token)
    days = current_app.config["INVITE_MAX_AGE_DAYS"]
    with speaking(user.language, tenant.language):  # the recipient's language, else the workspace's
        subject = _("%(inviter)s invited you to %(organization)s", inviter=inviter.name,
                    organization=tenant.name)
        text = "".join([
            _("Hello %(name)s,", name=user.name), "\n\n",
            _("%(inviter)s invited you to join %(organization)s on Sequences as %(roles)s.",
              inviter=inviter.name, organization=tenant.name, roles=", ".join(user.role_labels)),
            "\n\n",
            ngettext("Choose your password here (the link works once and for %(num)d day):",
                     "Choose your password here (the link works once and for %(num)d days):",
                     days),
            f"\n{link}\n",
        ])
    store_email(purpose="invite", to=user.email, subject=subject, text=text)


def user_from_invite(token: str) -> User | None:
    max_age = current_app.config["INVITE_MAX_AGE_DAYS"] * 86400
    payload = tokens.read_token(tokens.INVITE, token, max_age)
    tenant = current_tenant()
    if not payload or payload.get("t") != tenant.id:
        return None
    user = db.session.execute(
        select(User).where(User.id == payload.get("uid"))).scalar_one_or_none()
    if (user is None or user.status != UserStatus.INVITED
            or user.session_token != payload.get("n")):
        return None
    return user


def accept_invite(user: User, *, name: str, password: str) -> None:
    user.name = name.strip() or user.name
    set_password(user, password)
    user.status = UserStatus.ACTIVE.value
    audit.record("user.joined", user.email, actor=user)
    db.session.commit()


def update_user(user: User, *, name: str, roles: list[str]) -> None:
    roles = _clean_roles(roles)
    _lock_tenant()
    if Role.SYSTEM_ADMINISTRATOR.value not in roles:
        _ensure_another_admin_remains(user)
    before = list(user.roles)
    user.name = name.strip() or user.name
    user.roles = roles
    audit.record("user.updated", user.email, roles_before=before, roles_after=roles)
    db.session.commit()


def deactivate_user(user: User) -> None:
    if user.status == UserStatus.DEACTIVATED:
        return
    _lock_tenant()
    _ensure_another_admin_remains(user)
    user.status = UserStatus.DEACTIVATED.value
    user.session_token = new_session_token()  # ends all of the user's sessions
    audit.record("user.deactivated", user.email)
    db.session.commit()


def reactivate_user(user: User) -> None:
    if user.status != UserStatus.DEACTIVATED:
        return
    user.status = (UserStatus.ACTIVE if user.password_hash else UserStatus.INVITED).value
    audit.record("user.reactivated", user.email)
    db.session.commit()


def send_password_reset(user: User, reset_link: LinkMaker, *, by_admin: bool) -> None:
    """Email a single-use reset link (bound to the current password hash)."""
    if user.status != UserStatus.ACTIVE:
        return
    tenant = current_tenant()
    token = tokens.make_token(tokens.PASSWORD_RESET, {
        "uid": user.id, "t": tenant.id, "h": (user.password_hash or "")[-16:]})
    with speaking(user.language, tenant.language):  # the recipient's language, else the workspace's
        subject = _("Reset your password for %(organization)s", organization=tenant.name)
        text = "".join([
            _("Hello %(name)s,", name=user.name), "\n\n",
            _("Choose a new password here (the link works once and for one hour):"),
            f"\n{reset_link(token)}\n\n",
            _("If you did not ask for this, ignore this message; your password stays as it is."),
            "\n",
        ])
    store_email(purpose="password_reset", to=user.email, subject=subject, text=text)
    if by_admin:
        audit.record("user.password_reset_sent", user.email)
    db.session.commit()


def user_from_reset(token: str) -> User | None:
    payload = tokens.read_token(tokens.PASSWORD_RESET, token, 3600)
    tenant = current_tenant()
    if not payload or payload.get("t") != tenant.id:
        return None
    user = db.session.execute(
        select(User).where(User.id == payload.get("uid"))).scalar_one_or_none()
    if user is None or not user.is_active or (user.password_hash or "")[-16:] != payload.get("h"):
        return None
    return user


def reset_password(user: User, password: str) -> None:
    set_password(user, password)
    audit.record("user.password_reset", user.email, actor=user)
    db.session.commit()


def set_licence(licence: str) -> Tenant:
    tenant = current_tenant()
    kind = Licence(licence)
    before = tenant.licence_kind
    tenant.licence = kind.value
    tenant.licence_trial_ends_at = None
    audit.record("licence.changed", kind.english, before=before.english, after=kind.english)
    db.session.commit()
    return tenant


def publish_workspace(*, opportunities: bool) -> Tenant:
    tenant = current_tenant()
    first = tenant.workspace_published_at is None
    tenant.opportunities_enabled = opportunities
    tenant.workspace_published_at = utcnow()
    audit.record("workspace.published", audit.WORKSPACE,
                 record_types=tenant.record_types, first_time=first)
    db.session.commit()
    return tenant


def set_workspace_language(language: str) -> Tenant:
    """The workspace's default language: pages when neither the user nor the browser says,
    records without one, emails to users who chose none."""
    if not is_language(language):
        raise ServiceError(_("Choose one of the languages in the list."), "language")
    tenant = _lock_tenant()
    before = tenant.language
    if before == language:
        return tenant
    tenant.language = language
    audit.record("workspace.language_changed", tenant.name, before=before, after=language)
    db.session.commit()
    return tenant
