"""Tenant-isolation builders for Settings > Webhooks, merged into tests/test_tenant_isolation.py."""

from __future__ import annotations

from saas.extensions import db
from saas.messaging.crypto import encrypt
from saas.outbound.models import WebhookDelivery, WebhookSubscription

URL = "http://127.0.0.1:9/hooks"  # never called: no worker runs in these tests


def _subscription(status: str = "active") -> WebhookSubscription:
    subscription = WebhookSubscription(url=URL, description="", events=["record.connected"],
                                       secret_encrypted=encrypt("whsec_dGVzdA=="),
                                       status=status)
    db.session.add(subscription)
    db.session.flush()
    return subscription


def _case(method: str = "GET", status: str = "active", data: dict | None = None):
    def build(tenant):
        from tests.test_tenant_isolation import Case

        return Case({"subscription_id": _subscription(status).id}, method, data or {})
    return build


def _replay_case(tenant):
    from tests.test_tenant_isolation import Case

    subscription = _subscription()
    row = WebhookDelivery(subscription_id=subscription.id, event_type="record.connected",
                          event_id="evt_1", payload={"type": "record.connected"},
                          status="delivered")
    db.session.add(row)
    db.session.flush()
    return Case({"subscription_id": subscription.id, "delivery_id": row.id}, "POST")


CASES = {
    "outbound.edit": _case(),
    "outbound.delete": _case("POST"),
    "outbound.rotate": _case("POST"),
    "outbound.enable": _case("POST", status="disabled"),
    "outbound.send_test": _case("POST"),
    "outbound.deliveries": _case(),
    "outbound.replay": _replay_case,
}
