"""Per-tenant provider settings, kept in `tenant.settings["messaging"]`:

    {"sendgrid_key": <encrypted>, "sendgrid_webhook_key": <public key, base64 DER>,
     "from_address": str, "from_name": str, "inbound_domain": str,
     "twilio_sid": str, "twilio_token": <encrypted>, "twilio_from": str,
     "sellers": {"<user id>": {"from_address": str, "from_name": str}}}

Email goes through SendGrid when a key is set, else to the outbox; SMS through Twilio when a sid,
token and sender number are set, else to the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from saas.auth.models import Tenant
from saas.extensions import db
from saas.messaging import crypto

DEFAULT_FROM = "no-reply@sequences.local"


@dataclass(frozen=True)
class MessagingConfig:
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    tenant_language: str = "en"  # the workspace's default: records without a language get it
    sendgrid_key: str | None = None
    sendgrid_webhook_key: str | None = None
    from_address: str = DEFAULT_FROM
    from_name: str = ""
    inbound_domain: str = ""
    twilio_sid: str | None = None
    twilio_token: str | None = None
    twilio_from: str = ""
    sellers: dict = field(default_factory=dict)
    sendgrid_base_url: str = "https://api.sendgrid.com"
    twilio_base_url: str = "https://api.twilio.com"
    timeout: float = 10.0

    @property
    def email_provider(self) -> str:
        return "sendgrid" if self.sendgrid_key else "outbox"

    @property
    def sms_provider(self) -> str:
        return "twilio" if (self.twilio_sid and self.twilio_token and self.twilio_from) \
            else "outbox"

    def sender_for(self, seller_id: int | None) -> tuple[str, str]:
        """(from address, from name): the seller's own when set, else the tenant's."""
        own = self.sellers.get(str(seller_id)) if seller_id else None
        if own and own.get("from_address"):
            return own["from_address"], own.get("from_name") or self.from_name
        return self.from_address, self.from_name


def raw_settings(tenant: Tenant) -> dict:
    return dict((tenant.settings or {}).get("messaging") or {})


def config_for(tenant_id: int) -> MessagingConfig:
    """The tenant's provider settings with keys decrypted (never shown back in a page)."""
    tenant = db.session.execute(select(Tenant).where(Tenant.id == tenant_id)).scalar_one()
    return config_of(tenant)


def config_of(tenant: Tenant) -> MessagingConfig:
    raw = raw_settings(tenant)
    app = current_app.config
    return MessagingConfig(
        tenant_id=tenant.id, tenant_slug=tenant.slug, tenant_name=tenant.name,
        tenant_language=tenant.language or "en",
        sendgrid_key=crypto.decrypt(raw.get("sendgrid_key")),
        sendgrid_webhook_key=raw.get("sendgrid_webhook_key") or None,
        from_address=raw.get("from_address") or DEFAULT_FROM,
        from_name=raw.get("from_name") or tenant.name,
        inbound_domain=raw.get("inbound_domain") or "",
        twilio_sid=raw.get("twilio_sid") or None,
        twilio_token=crypto.decrypt(raw.get("twilio_token")),
        twilio_from=raw.get("twilio_from") or "",
        sellers=dict(raw.get("sellers") or {}),
        sendgrid_base_url=app["SENDGRID_BASE_URL"],
        twilio_base_url=app["TWILIO_BASE_URL"],
        timeout=float(app["PROVIDER_TIMEOUT_SECONDS"]),
    )
