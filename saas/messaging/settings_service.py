"""Saving the tenant's messaging settings (Settings > Messaging) and the suppression list as an
administrator manages it. Keys are encrypted before they are stored and never read back into a
page; a blank key field keeps the stored key. `reencrypt_stored_keys` moves every tenant's stored
keys to the first encryption key after a rotation (`flask rotate-provider-keys`)."""

from __future__ import annotations

import base64
import binascii

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from saas.admin import audit
from saas.auth.models import Tenant, User
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.messaging import crypto
from saas.messaging.config import raw_settings
from saas.messaging.models import Suppression
from saas.messaging.replies import parse_ooo_resume_days
from saas.messaging.suppression import normalize, suppress

TEXT_FIELDS = ("from_address", "from_name", "inbound_domain", "twilio_sid", "twilio_from",
               "sendgrid_webhook_key", "ooo_resume_days")
SECRET_FIELDS = ("sendgrid_key", "twilio_token")


class SettingsInvalid(ServiceError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(_l("The settings have errors."))
        self.errors = errors


def _email_ok(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _check(values: dict, errors: dict) -> None:
    if values.get("from_address") and not _email_ok(values["from_address"]):
        errors.setdefault("from_address", []).append(_("Enter an email address, e.g. "
                                                       "sales@example.com."))
    domain = values.get("inbound_domain") or ""
    if domain and ("@" in domain or "." not in domain or " " in domain):
        errors.setdefault("inbound_domain", []).append(
            _("Enter a domain only, e.g. reply.example.com."))
    number = values.get("twilio_from") or ""
    if number and not (number.startswith("+") and number[1:].isdigit() and len(number) > 8):
        errors.setdefault("twilio_from", []).append(
            _("Enter the number in international format, e.g. +14155550100."))
    sid = values.get("twilio_sid") or ""
    if sid and not (sid.startswith("AC") and len(sid) == 34):
        errors.setdefault("twilio_sid", []).append(
            _("An Account SID starts with AC and has 34 characters."))
    key = values.get("sendgrid_webhook_key") or ""
    if key:
        try:
            from sendgrid.helpers.eventwebhook import EventWebhook

            base64.b64decode(key, validate=True)
            EventWebhook().convert_public_key_to_ecdsa(key)
        except (ValueError, binascii.Error, TypeError):
            errors.setdefault("sendgrid_webhook_key", []).append(
                _("Paste the verification key shown in SendGrid’s Event Webhook settings."))


def save_settings(tenant: Tenant, form: dict, sellers: dict[int, dict]) -> None:
    """`form`: the text fields, the secret fields (blank keeps), `clear_<secret>` to remove;
    `sellers`: {user id: {"from_address", "from_name"}}."""
    values = {name: (form.get(name) or "").strip() for name in TEXT_FIELDS}
    values["sendgrid_webhook_key"] = "".join(values["sendgrid_webhook_key"].split())
    errors: dict[str, list[str]] = {}
    _check(values, errors)
    days, problem = parse_ooo_resume_days(values.pop("ooo_resume_days"))
    if problem:
        errors.setdefault("ooo_resume_days", []).append(problem)
    for user_id, own in sellers.items():
        if own.get("from_address") and not _email_ok(own["from_address"]):
            errors.setdefault(f"seller-{user_id}", []).append(_("Enter an email address."))
    if errors:
        raise SettingsInvalid(errors)
    messaging = raw_settings(tenant)
    messaging.update(values)
    if days is None:
        messaging.pop("ooo_resume_days", None)
    else:
        messaging["ooo_resume_days"] = days
    changed = [name for name in SECRET_FIELDS if (form.get(name) or "").strip()]
    for name in SECRET_FIELDS:
        secret = (form.get(name) or "").strip()
        if secret:
            messaging[name] = crypto.encrypt(secret)
        elif form.get(f"clear_{name}"):
            messaging.pop(name, None)
            changed.append(name)
    known = set(db.session.execute(select(User.id).where(User.id.in_(sellers))).scalars()) \
        if sellers else set()
    messaging["sellers"] = {
        str(uid): {"from_address": own.get("from_address", "").strip(),
                   "from_name": own.get("from_name", "").strip()}
        for uid, own in sellers.items() if uid in known and own.get("from_address", "").strip()}
    settings = dict(tenant.settings or {})
    settings["messaging"] = messaging
    tenant.settings = settings
    audit.record("messaging.settings_saved", tenant.name, keys_changed=sorted(changed))
    db.session.commit()


def reencrypt_stored_keys() -> tuple[int, int]:
    """Every tenant's stored provider keys encrypted again with the first of
    MESSAGING_ENCRYPTION_KEYS, one tenant per transaction (its row locked while it is written).
    Returns (values re-encrypted, values no key here can read: left as they are)."""
    rotated = unreadable = 0
    for tenant_id in db.session.execute(select(Tenant.id).order_by(Tenant.id)).scalars().all():
        tenant = db.session.execute(
            select(Tenant).where(Tenant.id == tenant_id).with_for_update()).scalar_one()
        messaging = raw_settings(tenant)
        for name in SECRET_FIELDS:
            if not messaging.get(name):
                continue
            again = crypto.rotate(messaging[name])
            if again is None:
                unreadable += 1
            else:
                messaging[name] = again
                rotated += 1
        if messaging != raw_settings(tenant):
            tenant.settings = {**(tenant.settings or {}), "messaging": messaging}
        db.session.commit()
    return rotated, unreadable


def add_suppression(address: str) -> str:
    address = normalize(address)
    if not address or ("@" in address and not _email_ok(address)) or (
            "@" not in address and len(address) < 6):
        raise SettingsInvalid({"address": [_("Enter an email address or a phone number in "
                                             "international format.")]})
    if not suppress(address, None, "manual"):
        raise SettingsInvalid({"address": [_("%(address)s is already on the list.",
                                             address=address)]})
    audit.record("suppression.added", address)
    db.session.commit()
    return address


def remove_suppression(entry: Suppression) -> None:
    audit.record("suppression.removed", entry.address, reason=entry.reason)
    db.session.delete(entry)
    db.session.commit()
