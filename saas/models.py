"""Imports every model so that metadata (and Alembic) see them all."""

from saas.admin.models import AuditEvent
from saas.auth.models import Tenant, User
from saas.imports.models import ImportError_, ImportJob
from saas.messaging.models import OutboxMessage
from saas.records.models import CustomField, Record

__all__ = ["AuditEvent", "CustomField", "ImportError_", "ImportJob", "OutboxMessage", "Record",
           "Tenant", "User"]
