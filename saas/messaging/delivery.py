"""Sending one message through the tenant's provider: the interface the engine and the manual
composers call.

`send_email` / `send_sms` pick the tenant's configured provider (the outbox when none), refuse a
suppressed address, and never raise for a provider's or the network's failure: the `SendResult`
says what happened. Outbox messages are written in the caller's transaction (the caller commits,
together with the status it records, so a crash never leaves one without the other).
"""

from __future__ import annotations

from saas.extensions import db
from saas.messaging import outbox, providers
from saas.messaging.config import MessagingConfig, config_for
from saas.messaging.result import SendResult
from saas.messaging.suppression import is_suppressed
from saas.tenancy import current_tenant_id, tenant_context
from saas.web import links

__all__ = ["SendResult", "send_email", "send_sms"]

UNSUPPRESSED_PURPOSES = ("test",)  # an administrator's test message goes to their own address


def _suppressed(to: str, purpose: str, provider: str) -> SendResult | None:
    if purpose not in UNSUPPRESSED_PURPOSES and is_suppressed(to):
        return SendResult("failed", provider, error=f"{to} is on the suppression list")
    return None


def send_email(tenant_id: int, *, to: str, subject: str, html: str, text: str,
               from_address: str | None = None, from_name: str | None = None,
               reply_to: str | None = None, headers: dict | None = None,
               custom_args: dict | None = None, categories: list | None = None,
               step_run_id: int | None = None, purpose: str = "sequence",
               config: MessagingConfig | None = None) -> SendResult:
    """Send one email; `config` may be passed by a caller sending a batch (loaded once)."""
    with _tenant(tenant_id):
        cfg = config or config_for(tenant_id)
        refused = _suppressed(to, purpose, cfg.email_provider)
        if refused:
            return refused
        sender = from_address or cfg.from_address
        name = from_name if from_name is not None else cfg.from_name
        all_headers = dict(headers or {})
        if cfg.email_provider == "outbox":
            if reply_to:
                all_headers.setdefault("Reply-To", reply_to)
            message = outbox.store_email(
                purpose=purpose, to=to, subject=subject, text=text, html=html,
                sender=f"{name} <{sender}>" if name else sender, headers=all_headers,
                step_run_id=step_run_id)
            db.session.flush()
            return SendResult("sent", "outbox", message_id=f"outbox-{message.id}")
        args = {"tenant_id": str(tenant_id)}
        if step_run_id is not None:
            args["step_run_id"] = str(step_run_id)
        args.update({k: str(v) for k, v in (custom_args or {}).items()})
        cats = [f"tenant:{cfg.tenant_slug}", *(categories or [])]
        payload = providers.build_mail(
            to=to, from_address=sender, from_name=name, subject=subject, html=html, text=text,
            reply_to=reply_to, headers=all_headers, custom_args=args, categories=cats)
        return providers.sendgrid_send(api_key=cfg.sendgrid_key or "",
                                       base_url=cfg.sendgrid_base_url, timeout=cfg.timeout,
                                       payload=payload)


def send_sms(tenant_id: int, *, to: str, body: str, step_run_id: int | None = None,
             purpose: str = "sequence", config: MessagingConfig | None = None) -> SendResult:
    with _tenant(tenant_id):
        cfg = config or config_for(tenant_id)
        refused = _suppressed(to, purpose, cfg.sms_provider)
        if refused:
            return refused
        if cfg.sms_provider == "outbox":
            message = outbox.store_sms(purpose=purpose, to=to, body=body,
                                       sender=cfg.twilio_from, step_run_id=step_run_id)
            db.session.flush()
            return SendResult("sent", "outbox", message_id=f"outbox-{message.id}")
        extra = {"sr": step_run_id} if step_run_id is not None else {}
        callback = links.external("webhooks.twilio_status", tenant=cfg.tenant_slug, **extra)
        return providers.twilio_send(
            sid=cfg.twilio_sid or "", token=cfg.twilio_token or "", base_url=cfg.twilio_base_url,
            timeout=cfg.timeout, to=to, from_=cfg.twilio_from, body=body,
            status_callback=callback)


class _tenant:
    """tenant_context(tenant_id) unless that tenant is already in context."""

    def __init__(self, tenant_id: int):
        self.tenant_id = tenant_id
        self.inner = None

    def __enter__(self):
        if current_tenant_id() != self.tenant_id:
            self.inner = tenant_context(self.tenant_id)
            self.inner.__enter__()

    def __exit__(self, *exc):
        if self.inner is not None:
            return self.inner.__exit__(*exc)
        return False
