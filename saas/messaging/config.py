"""Per-tenant provider settings, kept in `tenant.settings["messaging"]`:

    {"sendgrid_key": <encrypted>, "sendgrid_webhook_key": <public key, base64 DER>,
     "from_address": str, "from_name": str, "inbound_domain": str,
     "twilio_sid": str, "twilio_token": <encrypted>, "twilio_from": str,
     "sellers": {"<user id>": {"from_address": str, "from_name": str}}}

Email goes through SendGrid when a key is set, else to the outbox; SMS through Twilio when a sid,
token and sender number are set, else to the outbox. A stored key that cannot be decrypted (the
encryption key changed) still counts as set: that channel stops (`providers` answers "retry" for a
missing key) and Settings and Home say so; it never falls back to the outbox unseen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from saas.auth.models import Tenant
from saas.extensions import db
from saas.i18n import _
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
    unreadable: tuple[str, ...] = ()  # stored secrets no key here decrypts ("sendgrid_key", ...)

    @property
    def email_provider(self) -> str:
        return "sendgrid" if self.sendgrid_key or "sendgrid_key" in self.unreadable else "outbox"

    @property
    def sms_provider(self) -> str:
        token = self.twilio_token or "twilio_token" in self.unreadable
        return "twilio" if (self.twilio_sid and token and self.twilio_from) else "outbox"

    def sending_stopped(self) -> list[str]:
        """Why a channel sends nothing, for Settings and Home (empty when all is well)."""
        messages = []
        if "sendgrid_key" in self.unreadable:
            messages.append(_("Sending is stopped: the stored SendGrid key can't be read. "
                              "Enter it again in Settings."))
        if "twilio_token" in self.unreadable and self.sms_provider == "twilio":
            messages.append(_("Sending texts is stopped: the stored Twilio auth token can't be "
                              "read. Enter it again in Settings."))
        return messages

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
    secrets = {name: crypto.decrypt(raw.get(name)) for name in ("sendgrid_key", "twilio_token")}
    return MessagingConfig(
        tenant_id=tenant.id, tenant_slug=tenant.slug, tenant_name=tenant.name,
        tenant_language=tenant.language or "en",
        sendgrid_key=secrets["sendgrid_key"],
        sendgrid_webhook_key=raw.get("sendgrid_webhook_key") or None,
        from_address=raw.get("from_address") or DEFAULT_FROM,
        from_name=raw.get("from_name") or tenant.name,
        inbound_domain=raw.get("inbound_domain") or "",
        twilio_sid=raw.get("twilio_sid") or None,
        twilio_token=secrets["twilio_token"],
        twilio_from=raw.get("twilio_from") or "",
        sellers=dict(raw.get("sellers") or {}),
        sendgrid_base_url=app["SENDGRID_BASE_URL"],
        twilio_base_url=app["TWILIO_BASE_URL"],
        timeout=float(app["PROVIDER_TIMEOUT_SECONDS"]),
        unreadable=tuple(name for name, value in secrets.items()
                         if raw.get(name) and value is None),
    )
