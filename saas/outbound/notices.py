"""A subscription that cannot be delivered to is disabled, and the tenant's system
administrators are told (an email through the outbox, and the banner on Settings > Webhooks)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from saas.auth.models import Tenant, User, UserStatus
from saas.extensions import db
from saas.i18n import _, speaking
from saas.outbound.models import WebhookSubscription
from saas.tenancy import current_tenant_id

S = WebhookSubscription.__table__.c


def disable(subscription_id: int, reason: str, now: datetime) -> bool:
    """Disable an active subscription (compare-and-set) and email the admins; False when it was
    not active any more. The caller commits."""
    url = db.session.execute(
        update(WebhookSubscription.__table__)
        .where(S.id == subscription_id, S.tenant_id == current_tenant_id(), S.status == "active")
        .values(status="disabled", disabled_reason=reason, disabled_at=now, updated_at=now)
        .returning(S.url)).scalar()
    if url is None:
        return False
    _tell_admins(url, reason)
    return True


def _tell_admins(url: str, reason: str) -> None:
    from saas.auth.services import is_admin_clause
    from saas.messaging.outbox import store_email

    tenant = db.session.execute(
        select(Tenant).where(Tenant.id == current_tenant_id())).scalar_one()
    admins = db.session.execute(select(User).where(
        User.status == UserStatus.ACTIVE.value, is_admin_clause())).scalars()
    for user in admins:
        with speaking(user.language, tenant.language):
            subject = _("A webhook is disabled: %(url)s", url=url)
            body = (_("The webhook %(url)s is disabled: it answered 410 Gone. Events are no "
                      "longer sent to it. Once the receiver works again, enable it in Settings "
                      "> Webhooks; you can replay the deliveries it missed there.", url=url)
                    if reason == "gone" else
                    _("The webhook %(url)s is disabled: its deliveries have failed for a day. "
                      "Events are no longer sent to it. Once the receiver works again, enable "
                      "it in Settings > Webhooks; you can replay the deliveries it missed "
                      "there.", url=url))
            text = "".join([_("Hello %(name)s,", name=user.name), "\n\n", body, "\n"])
        store_email(purpose="webhook_disabled", to=user.email, subject=subject, text=text)
