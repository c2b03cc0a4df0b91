"""Outbound webhooks over the API: list, subscribe (the secret is in the answer, once), send a
test event, unsubscribe. The same services as Settings → Webhooks (saas/outbound/services.py):
the same address checks, the same events, the same audit log."""

from __future__ import annotations

from flask import Response
from sqlalchemy import select

from saas.api.models import KeyRole
from saas.api.problems import ApiProblem, invalid
from saas.api.records import ID, NOT_FOUND, WHEN
from saas.api.spec import MANAGERS, component, operation, parse_body, ref, text
from saas.extensions import db
from saas.i18n import _, _l
from saas.outbound import services
from saas.outbound.events import EVENT_TYPES
from saas.outbound.models import WebhookSubscription
from saas.tenancy import get_or_404

EVENTS = list(EVENT_TYPES)
READERS = frozenset({KeyRole.READ_ONLY, KeyRole.SEQUENCE_MANAGER})  # as in Settings: not sellers
SUBSCRIPTION_FIELDS = {
    "id": ID, "url": {"type": "string"}, "description": {"type": "string"},
    "events": {"type": "array", "items": {"type": "string", "enum": EVENTS}},
    "status": {"type": "string", "enum": ["active", "disabled"]},
    "disabled_reason": {"type": ["string", "null"]},
    "created_at": WHEN,
}
SUBSCRIPTION = component("WebhookSubscription", {
    "type": "object", "required": list(SUBSCRIPTION_FIELDS), "properties": SUBSCRIPTION_FIELDS})
component("WebhookCreate", {
    "type": "object", "additionalProperties": False, "required": ["url", "events"],
    "properties": {"url": text(2000, minLength=1), "description": text(500),
                   "events": {"type": "array", "minItems": 1, "maxItems": len(EVENTS),
                              "uniqueItems": True,
                              "items": {"type": "string", "enum": EVENTS}}}})
CREATED = component("WebhookCreated", {
    "type": "object", "required": [*SUBSCRIPTION_FIELDS, "secret"],
    "properties": {**SUBSCRIPTION_FIELDS, "secret": {
        "type": "string", "description": _l("`whsec_…`: verify each delivery's signature with "
                                            "it. Shown once.")}}})


def subscription_json(row: WebhookSubscription) -> dict:
    return {"id": row.id, "url": row.url, "description": row.description or "",
            "events": list(row.events or []), "status": row.status,
            "disabled_reason": row.disabled_reason, "created_at": row.created_at}


@operation("GET", "/webhooks", summary=_l("List webhook subscriptions"), tag="Webhooks",
           allow=READERS, responses={200: (_l("Every subscription of the organization."), {
               "type": "object", "required": ["data"],
               "properties": {"data": {"type": "array", "items": SUBSCRIPTION}}})})
def list_webhooks():
    rows = db.session.execute(select(WebhookSubscription).order_by(WebhookSubscription.id)
                              .limit(500)).scalars()
    return {"data": [subscription_json(row) for row in rows]}


@operation("POST", "/webhooks", summary=_l("Subscribe a URL to events"), tag="Webhooks",
           allow=MANAGERS, body=ref("WebhookCreate"),
           description=_l("Deliveries are signed as Standard Webhooks with the secret in the "
                          "answer (shown once). The URL must be https and may not point to a "
                          "private, loopback or link-local address."),
           responses={201: (_l("The subscription and its secret."), CREATED),
                      422: (_l("Some fields need attention."), ref("Problem"))})
def create_webhook():
    body = parse_body("WebhookCreate")
    try:
        row, secret = services.create_subscription(body["url"], body.get("description", ""),
                                                   body["events"])
    except services.WebhookInvalid as error:
        raise invalid({error.field: str(error)}) from None
    return {**subscription_json(row), "secret": secret}, 201


@operation("POST", "/webhooks/{webhook_id}/test", summary=_l("Send a test event"), tag="Webhooks",
           allow=MANAGERS, description=_l("A `webhook.test` event to this subscription alone."),
           responses={202: (_l("Queued for delivery."), {
               "type": "object", "required": ["event_id"],
               "properties": {"event_id": {"type": "string"}}}), 404: NOT_FOUND[1]})
def test_webhook(webhook_id: int):
    row = get_or_404(WebhookSubscription, webhook_id)
    if row.status != "active":
        raise ApiProblem(409, detail=_("Enable the webhook first: it is disabled."))
    delivery = services.send_test(row)
    return {"event_id": delivery.event_id}, 202


@operation("DELETE", "/webhooks/{webhook_id}", summary=_l("Unsubscribe"), tag="Webhooks",
           allow=MANAGERS, responses={204: (_l("Deleted, with its deliveries."), None),
                                      404: NOT_FOUND[1]})
def delete_webhook(webhook_id: int):
    services.delete_subscription(get_or_404(WebhookSubscription, webhook_id))
    return Response(status=204)
