"""What Settings > Webhooks reads: the subscriptions with their last delivery, one
subscription's deliveries (newest first, keyset pages) and their attempts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from saas.extensions import db
from saas.outbound.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from saas.web.pagination import Page, keyset_page

PAGE = 25
ATTEMPTS_SHOWN = 20


@dataclass
class Row:
    subscription: WebhookSubscription
    last: WebhookDelivery | None


def subscriptions() -> list[Row]:
    """Every subscription of the tenant (a handful), oldest first, with its last delivery."""
    subs = db.session.execute(select(WebhookSubscription).order_by(WebhookSubscription.id)
                              ).scalars().all()
    if not subs:
        return []
    last_ids = select(func.max(WebhookDelivery.id)).where(
        WebhookDelivery.subscription_id.in_([s.id for s in subs])).group_by(
        WebhookDelivery.subscription_id)
    last = {d.subscription_id: d for d in db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.id.in_(last_ids))).scalars()}
    return [Row(s, last.get(s.id)) for s in subs]


def disabled() -> list[WebhookSubscription]:
    return db.session.execute(select(WebhookSubscription).where(
        WebhookSubscription.status == "disabled").order_by(WebhookSubscription.id)
    ).scalars().all()


def deliveries(subscription_id: int, after: str | None) -> Page:
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    return keyset_page(stmt, [WebhookDelivery.id], after, descending=True, limit=PAGE,
                       cursor_of=lambda d: (d.id,))


def attempts(delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    """The attempts of these deliveries (one query), newest first, the last ATTEMPTS_SHOWN."""
    found: dict[int, list[WebhookAttempt]] = {}
    if not delivery_ids:
        return found
    for attempt in db.session.execute(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id.desc())).scalars():
        shown = found.setdefault(attempt.delivery_id, [])
        if len(shown) < ATTEMPTS_SHOWN:
            shown.append(attempt)
    return found
