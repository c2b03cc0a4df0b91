"""The events a tenant's webhooks can hear, and the payload each delivery carries.

A payload is `{"type": ..., "timestamp": ..., "data": {...}}`: ids and short words (the tenant's
slug, the record, the sequence, its version, the enrollment, the step, the reason), never what a
message said. The table below is the one list: the Settings page's checkboxes, the listeners'
names and the README's table all come from it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from saas.i18n import _l

EVENT_TYPES = {
    "record.connected": _l("A record is connected to a sequence"),
    "step.completed": _l("A step is completed (an activity done, a wait over)"),
    "email.sent": _l("An email is sent"),
    "email.opened": _l("An email is opened"),
    "email.clicked": _l("A link in an email is clicked"),
    "email.replied": _l("A reply comes in"),
    "email.bounced": _l("An email bounces"),
    "email.out_of_office": _l("An out-of-office reply comes in"),
    "enrollment.completed": _l("A record completes a sequence"),
    "enrollment.exited": _l("A record leaves a sequence before its end"),
    "abtest.concluded": _l("An A/B test is concluded"),
}
TEST_EVENT = "webhook.test"  # "Send a test event": to one subscription, whatever it hears

# message_event.kind -> the event it is
MESSAGE_KINDS = {"open": "email.opened", "click": "email.clicked", "reply": "email.replied",
                 "bounce": "email.bounced", "auto_reply": "email.out_of_office"}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(event_type: str, at: datetime, data: dict) -> dict:
    return {"type": event_type, "timestamp": iso(at), "data": data}
