"""Imports every model so that metadata (and Alembic) see them all."""

from saas.admin.models import AuditEvent
from saas.auth.models import Tenant, User
from saas.messaging.models import OutboxMessage

__all__ = ["AuditEvent", "OutboxMessage", "Tenant", "User"]
