"""The gate: sequence features need a licence, a role and a published workspace."""

from __future__ import annotations

from functools import wraps

from flask import g, render_template
from flask_login import current_user
from sqlalchemy import select

from saas.auth.models import Role, User, UserStatus
from saas.auth.services import is_admin_clause
from saas.extensions import db, login_manager


def _admins() -> list[User]:
    return list(db.session.execute(
        select(User).where(User.status == UserStatus.ACTIVE.value, is_admin_clause())
        .order_by(User.name).limit(5)
    ).scalars())


def missing_for(user, roles: tuple[Role, ...], sequences: bool) -> list[str]:
    """Which of 'licence', 'role', 'workspace' stand between this user and the page."""
    tenant = g.tenant
    missing = []
    if sequences and not tenant.licence_includes_sequences:
        missing.append("licence")
    if roles and not any(user.has_role(r) for r in roles):
        missing.append("role")
    if sequences and not tenant.workspace_ready:
        missing.append("workspace")
    return missing


def requires(*roles: Role, sequences: bool = False):
    """Sign-in, then role (any of `roles`), and for sequence features licence and workspace."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            missing = missing_for(current_user, roles, sequences)
            if missing:
                return render_template(
                    "errors/gate.html", missing=missing, roles=roles, admins=_admins(),
                    tenant=g.tenant,
                ), 403
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


admin_required = requires(Role.SYSTEM_ADMINISTRATOR)
