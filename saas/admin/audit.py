"""Writing to the audit log, in the caller's transaction."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from saas.admin.models import AuditEvent
from saas.extensions import db


def record(action: str, target: str = "", actor=None, **details) -> AuditEvent:
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "name", None) or "system",
        action=action,
        target=target,
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
