"""Imports every model so that metadata (and Alembic) see them all."""

from saas.admin.models import AuditEvent
from saas.api.models import ApiKey, IdempotentRequest
from saas.auth.models import Tenant, User
from saas.calendars.models import Calendar, ClosureDay
from saas.engine.models import AbTest, ConnectJob, Enrollment, SegmentConnection, StepRun
from saas.engine.senders import Sender
from saas.imports.models import ImportError_, ImportJob
from saas.messaging.models import MessageEvent, OutboxMessage, Suppression
from saas.outbound.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from saas.records.models import CustomField, Record
from saas.segments.models import (
    AssignmentLog,
    AssignmentRule,
    AssignmentWait,
    Segment,
    SegmentEvent,
    SegmentMember,
)
from saas.sellers.models import CoverMove, TimeOff
from saas.sequences.models import Sequence, Step
from saas.templates_.models import MessageTemplate

__all__ = ["AbTest", "ApiKey", "IdempotentRequest",
           "AssignmentLog", "AssignmentRule", "AssignmentWait", "CoverMove", "TimeOff",
           "AuditEvent", "Calendar", "ClosureDay", "ConnectJob",
           "CustomField", "Enrollment", "ImportError_", "ImportJob", "MessageEvent",
           "MessageTemplate", "OutboxMessage", "Record", "Segment", "SegmentConnection",
           "SegmentEvent", "SegmentMember", "Sender", "Sequence", "Step", "StepRun",
           "Suppression", "WebhookAttempt", "WebhookDelivery", "WebhookSubscription",
           "Tenant", "User"]
