"""Imports every model so that metadata (and Alembic) see them all."""

from saas.admin.models import AuditEvent
from saas.auth.models import Tenant, User
from saas.imports.models import ImportError_, ImportJob
from saas.messaging.models import OutboxMessage
from saas.records.models import CustomField, Record
from saas.segments.models import (
    AssignmentLog,
    AssignmentRule,
    Segment,
    SegmentEvent,
    SegmentMember,
)
from saas.templates_.models import MessageTemplate

__all__ = ["AssignmentLog", "AssignmentRule", "AuditEvent", "CustomField", "ImportError_",
           "ImportJob", "MessageTemplate", "OutboxMessage", "Record", "Segment", "SegmentEvent",
           "SegmentMember", "Tenant", "User"]
