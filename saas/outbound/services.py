"""What a system administrator does with webhooks: subscribe a URL, edit, delete, rotate its
secret, enable it again, send it a test event, replay a delivery. Each commits; a new delivery's
job is enqueued after the commit."""

from __future__ import annotations

import base64
import secrets
import uuid

from sqlalchemy import select, update

from saas.admin import audit
from saas.engine import clock
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.messaging.crypto import encrypt
from saas.outbound import addresses, delivery
from saas.outbound.events import EVENT_TYPES, TEST_EVENT, payload
from saas.outbound.models import WebhookDelivery, WebhookSubscription
from saas.tenancy import current_tenant_id


class WebhookInvalid(ServiceError):
    """A field is refused: `field` names it, the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _checked(url: str, events: list[str]) -> tuple[str, list[str]]:
    try:
        url = addresses.check(url)
    except addresses.AddressRefused as refused:
        raise WebhookInvalid("url", str(refused)) from None
    unknown = [name for name in events if name not in EVENT_TYPES]
    if unknown or not events:
        raise WebhookInvalid("events", _("Choose at least one event."))
    return url, [name for name in EVENT_TYPES if name in events]


def create_subscription(url: str, description: str, events: list[str]
                        ) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret, in clear (shown once)."""
    url, events = _checked(url, events)
    secret = new_secret()
    now = clock.now()
    subscription = WebhookSubscription(url=url, description=description.strip()[:500],
                                       events=events, secret_encrypted=encrypt(secret),
                                       status="active", created_at=now, updated_at=now)
    db.session.add(subscription)
    db.session.flush()
    audit.record("webhook.created", target=url)
    db.session.commit()
    return subscription, secret


def update_subscription(subscription: WebhookSubscription, url: str, description: str,
                        events: list[str]) -> None:
    url, events = _checked(url, events)
    subscription.url = url
    subscription.description = description.strip()[:500]
    subscription.events = events
    subscription.updated_at = clock.now()
    audit.record("webhook.updated", target=url)
    db.session.commit()


def delete_subscription(subscription: WebhookSubscription) -> None:
    url = subscription.url
    db.session.delete(subscription)
    audit.record("webhook.deleted", target=url)
    db.session.commit()


def rotate_secret(subscription: WebhookSubscription) -> str:
    """A new secret (shown once); deliveries are signed with it from now on."""
    secret = new_secret()
    subscription.secret_encrypted = encrypt(secret)
    subscription.updated_at = clock.now()
    audit.record("webhook.secret_rotated", target=subscription.url)
    db.session.commit()
    return secret


def enable(subscription_id: int) -> bool:
    """Enable a disabled subscription (compare-and-set); its waiting deliveries are due now
    with a fresh day of retries. False when it was not disabled."""
    now = clock.now()
    s = WebhookSubscription.__table__.c
    url = db.session.execute(
        update(WebhookSubscription.__table__)
        .where(s.id == subscription_id, s.tenant_id == current_tenant_id(),
               s.status == "disabled")
        .values(status="active", disabled_reason=None, disabled_at=None, failing_since=None,
                updated_at=now).returning(s.url)).scalar()
    if url is None:
        db.session.rollback()
        return False
    d = WebhookDelivery.__table__.c
    db.session.execute(update(WebhookDelivery.__table__)
                       .where(d.tenant_id == current_tenant_id(),
                              d.subscription_id == subscription_id, d.status == "pending")
                       .values(next_attempt_at=now, first_attempt_at=None))
    audit.record("webhook.enabled", target=url)
    db.session.commit()
    delivery.enqueue()
    return True


def _deliver(subscription_id: int, event_type: str, event_id: str, body: dict
             ) -> WebhookDelivery:
    now = clock.now()
    row = WebhookDelivery(subscription_id=subscription_id, event_type=event_type,
                          event_id=event_id, payload=body, status="pending", attempts=0,
                          next_attempt_at=now, created_at=now)
    db.session.add(row)
    db.session.commit()
    delivery.enqueue()
    return row


def send_test(subscription: WebhookSubscription) -> WebhookDelivery:
    """A `webhook.test` event to this subscription alone, whatever events it hears."""
    from saas.auth.models import Tenant

    slug = db.session.execute(select(Tenant.slug).where(Tenant.id == current_tenant_id())
                              ).scalar()
    body = payload(TEST_EVENT, clock.now(), {"tenant": slug,
                                             "subscription_id": subscription.id})
    return _deliver(subscription.id, TEST_EVENT, f"evt_{uuid.uuid4().hex}", body)


def replay(original: WebhookDelivery) -> WebhookDelivery:
    """A new delivery of the same event (same payload and webhook-id: a receiver that already
    has it may recognise it)."""
    if not original.payload:
        raise ServiceError(_("This delivery has no payload to replay."))
    return _deliver(original.subscription_id, original.event_type, original.event_id,
                    original.payload)
