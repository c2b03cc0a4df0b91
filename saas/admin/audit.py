"""Writing to the audit log, in the caller's transaction, and showing it in the viewer's
language: the action by its label, and what the log stores in English (a count of records, a
licence, the system as actor) translated when shown, as saas/engine/reasons.py does."""

from __future__ import annotations

import re

from flask import has_request_context, request
from flask_login import current_user

from saas.admin.models import AuditEvent
from saas.extensions import db
from saas.i18n import N_, _, _l
from saas.web.words import records

SYSTEM = "system"  # the actor of what no signed-in person did (a job, the tick)
WORKSPACE = N_("Sales accelerator workspace")
NO_LICENCE = N_("No licence")
STORED_TEXTS = (WORKSPACE, NO_LICENCE)
_RECORDS = re.compile(r"^(\d+) record\(s\)$")  # how targets count records (records_target)

# What the audit log shows for each action code (the code is stored; the label is shown in the
# viewer's language, with the code next to it). An action missing here shows its code alone.
ACTION_LABELS = {
    "tenant.signed_up": _l("Organization signed up"),
    "tenant.demo_seeded": _l("Demo data added"),
    "user.invited": _l("User invited"),
    "user.invite_resent": _l("Invitation sent again"),
    "user.joined": _l("User joined"),
    "user.updated": _l("User updated"),
    "user.deactivated": _l("User deactivated"),
    "user.reactivated": _l("User reactivated"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset_sent": _l("Password reset link sent"),
    "user.password_reset": _l("Password reset"),
    "user.availability": _l("Availability changed"),
    "licence.changed": _l("Licence changed"),
    "workspace.published": _l("Workspace published"),
    "workspace.language_changed": _l("Workspace language changed"),
    "retention.settings_saved": _l("Retention settings saved"),
    "messaging.settings_saved": _l("Messaging settings saved"),
    "custom_field.added": _l("Custom field added"),
    "custom_field.deleted": _l("Custom field removed"),
    "webhook.created": _l("Webhook added"),
    "webhook.updated": _l("Webhook updated"),
    "webhook.deleted": _l("Webhook deleted"),
    "webhook.secret_rotated": _l("Webhook secret rotated"),
    "webhook.enabled": _l("Webhook enabled again"),
    "records.owner_changed": _l("Records' owner changed"),
    "records.deleted": _l("Records deleted"),
    "import.started": _l("Import started"),
    "import.restarted": _l("Import restarted"),
    "segment.saved": _l("Segment saved"),
    "segment.activated": _l("Segment activated"),
    "segment.deactivated": _l("Segment deactivated"),
    "segment.reevaluated": _l("Segment evaluated again"),
    "segment.deleted": _l("Segment deleted"),
    "segment.records_assigned": _l("Segment's records assigned"),
    "assignment_rule.added": _l("Assignment rule added"),
    "assignment_rule.deleted": _l("Assignment rule removed"),
    "template.created": _l("Template created"),
    "template.deleted": _l("Template deleted"),
    "template.version_created": _l("Template version added"),
    "template.version_deleted": _l("Template version removed"),
    "sequence.created": _l("Sequence created"),
    "sequence.cloned": _l("Sequence copied"),
    "sequence.new_version": _l("Sequence version created"),
    "sequence.activated": _l("Sequence activated"),
    "sequence.deactivated": _l("Sequence deactivated"),
    "sequence.deleted": _l("Sequence deleted"),
    "sequence.settings": _l("Sequence settings saved"),
    "sequence.record_connected": _l("Record connected to a sequence"),
    "sequence.records_connected": _l("Records connected to a sequence"),
    "sequence.segment_connected": _l("Segment connected to a sequence"),
    "sequence.sellers_assigned": _l("Sellers assigned"),
    "calendar.working_week": _l("Working week changed"),
    "calendar.closure_added": _l("Closure day added"),
    "calendar.closure_removed": _l("Closure day removed"),
    "calendar.preset_applied": _l("Public holidays added as closure days"),
    "suppression.added": _l("Address added to the suppression list"),
    "suppression.removed": _l("Address removed from the suppression list"),
    "ab_test.stopped": _l("A/B test stopped"),
    "template.saved": _l("Template saved"),
    "api_key.created": _l("API key created"),
    "api_key.revoked": _l("API key revoked"),
    "seller.capacity": _l("Seller's capacity changed"),
    "seller.time_off_added": _l("Time off added"),
    "seller.time_off_removed": _l("Time off removed"),
    "seller.covered": _l("Colleague covering during time off"),
    "seller.cover_ended": _l("Cover during time off ended"),
    "sequence.skip_wait": _l("Skip wait time setting changed"),
    "sequence.records_paused": _l("Connections paused"),
    "sequence.records_resumed": _l("Connections resumed"),
    "sequence.records_disconnected": _l("Records disconnected from a sequence"),
}


def action_label(action: str):
    """The action's label in the viewer's language, or None when it has none."""
    return ACTION_LABELS.get(action)


def records_target(count: int) -> str:
    """The target of an action on many records, as stored ("3 record(s)"); shown translated."""
    return f"{count} record(s)"


def shown(value) -> str:
    """A stored target or detail in the viewer's language when the log wrote it in English."""
    if not isinstance(value, str):
        return value
    if value in STORED_TEXTS:
        return _(value)
    match = _RECORDS.match(value)
    if match:
        return records(int(match[1]))
    return value


def actor_shown(event: AuditEvent) -> str:
    return _("system") if event.actor_id is None and event.actor_name == SYSTEM \
        else event.actor_name


def record(action: str, target: str = "", actor=None, **details) -> AuditEvent:
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "name", None) or SYSTEM,
        action=action,
        target=target,
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
