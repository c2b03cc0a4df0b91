"""Provider webhooks, one URL set per tenant, each verified before anything is read:

- SendGrid Event Webhook: ECDSA signature (the library's `EventWebhook` verifier) over the
  timestamp and the raw body with the tenant's public key; a timestamp older than
  `WEBHOOK_MAX_AGE_SECONDS` is refused; events are deduplicated by `sg_event_id`.
- SendGrid Inbound Parse: the reply is matched by the signed token in the Reply-To address it
  was sent to (no valid token: 404); deduplicated by the reply's Message-ID.
- Twilio status callbacks and inbound SMS: `RequestValidator` with the tenant's auth token over
  the public URL and the form; statuses applied by rank (they arrive out of order); STOP/START.
Refused requests change nothing and answer 4xx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, g, request
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from saas.engine import clock
from saas.engine.events import lock_for_events, step_run_of
from saas.engine.windows import tenant_zone
from saas.extensions import csrf, db
from saas.messaging import events, replies, tracking
from saas.messaging.config import config_of
from saas.messaging.models import MessageEvent
from saas.messaging.suppression import suppress, unsuppress
from saas.records.models import Record
from saas.web.errors import request_id
from saas.web.ids import BIGINT_MAX
from saas.web.params import MAX_LINE, form_text, id_arg
from saas.webhooks import payload as payload_checks

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/<tenant>/webhooks")
csrf.exempt(bp)

SENDGRID_KINDS = {"processed": "processed", "delivered": "delivered", "deferred": "deferred",
                  "bounce": "bounce", "dropped": "dropped", "open": "open", "click": "click",
                  "spamreport": "spamreport", "unsubscribe": "unsubscribe",
                  "group_unsubscribe": "unsubscribe"}
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
START_WORDS = {"START", "YES", "UNSTOP"}
SMS_RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
            "delivered": 4, "undelivered": 4, "failed": 4, "read": 5}


def _refuse(status: int, why: str) -> Response:
    log.warning("webhook refused: %s %s %s request_id=%s", request.path, status, why,
                request_id())
    return Response(why, status, mimetype="text/plain")


def _max_age() -> int:
    return int(current_app.config["WEBHOOK_MAX_AGE_SECONDS"])


# -- SendGrid events -------------------------------------------------------------------------------

@bp.route("/sendgrid/events", methods=["POST"])
def sendgrid_events():
    config = config_of(g.tenant)
    if not config.sendgrid_webhook_key:
        return _refuse(404, "No event webhook is configured for this organisation.")
    signature = request.headers.get(EventWebhookHeader.SIGNATURE, "")
    timestamp = request.headers.get(EventWebhookHeader.TIMESTAMP, "")
    if not signature or not (timestamp.isascii() and timestamp.isdigit()):
        return _refuse(401, "Unsigned request.")
    if abs(time.time() - int(timestamp)) > _max_age():
        return _refuse(403, "Stale timestamp.")
    raw = request.get_data(cache=True, as_text=False)
    verifier = EventWebhook()
    try:
        key = verifier.convert_public_key_to_ecdsa(config.sendgrid_webhook_key)
        valid = verifier.verify_signature(raw.decode("utf-8"), signature, timestamp, key)
    except (ValueError, TypeError, UnicodeDecodeError):
        valid = False
    if not valid:
        return _refuse(403, "Bad signature.")
    try:
        payload = payload_checks.sendgrid_events(raw)
    except payload_checks.Unreadable as unreadable:
        return _refuse(400, str(unreadable))
    _lock_enrollments_of(payload)
    recorded = 0
    for item in payload:
        if _sendgrid_event(item):
            recorded += 1
    db.session.commit()
    return Response(json.dumps({"recorded": recorded}), 200, mimetype="application/json")


def _lock_enrollments_of(payload: list[dict]) -> None:
    """The batch is one transaction: lock every enrollment it may touch first, in id order."""
    from saas.engine.events import lock_for_events

    runs, addresses = [], []
    for item in payload:
        if str(item.get("tenant_id", g.tenant.id)) == str(g.tenant.id):
            value = item.get("step_run_id")
            if isinstance(value, int) or (isinstance(value, str) and value.isascii()
                                          and value.isdigit() and len(value) < 19):
                runs.append(int(value))
        if SENDGRID_KINDS.get(str(item.get("event"))) in ("bounce", "dropped", "spamreport",
                                                           "unsubscribe"):
            addresses.append(str(item.get("email") or ""))
    lock_for_events(runs, addresses)


def _sendgrid_event(item: dict) -> bool:
    kind = SENDGRID_KINDS.get(str(item.get("event")))
    event_id = item.get("sg_event_id")
    if kind is None or not event_id:
        return False
    if kind == "bounce" and item.get("type") == "blocked":
        kind = "blocked"  # a temporary refusal: no suppression
    run = None
    if str(item.get("tenant_id", g.tenant.id)) == str(g.tenant.id):
        run = step_run_of(item.get("step_run_id"))
    message_id = str(item.get("sg_message_id") or "").split(".")[0] or None
    stamp = item.get("timestamp")
    occurred = datetime.fromtimestamp(stamp, UTC) if stamp else None
    data = {k: item[k] for k in ("reason", "type", "status", "response", "useragent", "ip")
            if k in item}
    if message_id:
        data["provider_message_id"] = message_id
    return events.record(kind=kind, provider="sendgrid", provider_event_id=str(event_id)[:128],
                         step_run_id=run.id if run else None, address=item.get("email"),
                         url=item.get("url"), data=data, occurred_at=occurred)


# -- SendGrid Inbound Parse (replies) -----------------------------------------------------------

@bp.route("/sendgrid/inbound", methods=["POST"])
def sendgrid_inbound():
    form = {name: _field(name, bound=MAX_HEADERS if name == "headers" else MAX_LINE)
            for name in ("envelope", "to", "cc", "headers", "from", "subject", "text")}
    envelope = form["envelope"]
    found = tracking.read_reply(" ".join([form.get("to", ""), envelope,
                                           form.get("cc", "")]))
    if found is None or found.tenant_id != g.tenant.id:
        return _refuse(404, "No reply token.")
    run = step_run_of(found.step_run_id)
    if run is None:
        return _refuse(404, "No such message.")
    headers = form.get("headers", "")
    message_id = next((line.split(":", 1)[1].strip() for line in headers.splitlines()
                       if line.lower().startswith("message-id:")), "")
    basis = message_id or "|".join([form.get("from", ""), form.get("subject", ""),
                                    form.get("text", "")])
    digest = hashlib.sha256(basis.encode()).hexdigest()[:40]
    sender = form.get("from", "")
    address = sender.split("<")[-1].rstrip(">").strip() if "<" in sender else sender.strip()
    reading = replies.classify(headers, form.get("subject", ""), form.get("text", ""),
                               received=clock.now().astimezone(tenant_zone()).date(),
                               sender=sender)
    if reading.kind in (replies.BOUNCE, replies.UNSUBSCRIBE):
        # The address that bounced or asks to leave is the one written to, not a mailer-daemon.
        address = db.session.execute(select(Record.email).where(
            Record.id == run.record_id)).scalar_one_or_none() or address
    lock_for_events([run.id], [address] if reading.kind != replies.REPLY else [])
    data = {"subject": form.get("subject", "")[:255], "text": (form.get("text") or "")[:2000],
            "reason": reading.reason, "from": sender[:254]}
    if reading.return_date:
        data["return_date"] = reading.return_date.isoformat()
    events.record(kind=reading.kind, provider="sendgrid", provider_event_id=f"reply:{digest}",
                  step_run_id=run.id if run else None, address=address or None, data=data)
    db.session.commit()
    return Response("", 200)


# -- Twilio ---------------------------------------------------------------------------------------

def _twilio_valid() -> bool:
    config = config_of(g.tenant)
    if not config.twilio_token:
        return False
    public = current_app.config["PUBLIC_URL"].rstrip("/")
    query = request.query_string.decode()
    url = public + request.path + (f"?{query}" if query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    # The signature covers the parameters as sent; the parsed form has control characters removed.
    sent = dict(parse_qsl(request.get_data(cache=True, as_text=True), keep_blank_values=True))
    return bool(signature) and RequestValidator(config.twilio_token).validate(
        url, sent, signature)


_SID = re.compile(r"[A-Za-z0-9]{1,64}")
MAX_ADDRESS = 64  # a phone number in any format Twilio sends
MAX_BODY = 1600  # an SMS (what is kept of an inbound text)
MAX_HEADERS = 100_000  # an inbound email's headers, read for its Message-ID


def _field(name: str, default: str | None = "", bound: int = MAX_LINE) -> str | None:
    """A provider's form field, cut to `bound` (a provider gets an answer, never a 400 for
    length alone; each field is checked further where it is used)."""
    return form_text(name, bound, default, cut=True)


def _twilio_fields_problem(*required: str) -> str | None:
    form = {name: _field(name) for name in ("MessageSid", "To", "From", *required)}
    if not _SID.fullmatch(form.get("MessageSid", "")):
        return "MessageSid is required (letters and digits)."
    for name in ("To", "From"):
        if len(form.get(name, "")) > MAX_ADDRESS:
            return f"{name} is longer than {MAX_ADDRESS} characters."
    missing = [name for name in required if not form.get(name)]
    return f"{', '.join(missing)} required." if missing else None


@bp.route("/twilio/status", methods=["POST"])
def twilio_status():
    if not _twilio_valid():
        return _refuse(403, "Bad or missing signature.")
    problem = _twilio_fields_problem()
    if problem:
        return _refuse(400, problem)
    sid = _field("MessageSid")
    status = _field("MessageStatus", bound=64)
    if status not in SMS_RANK:
        return _refuse(400, "MessageSid and a known MessageStatus are required.")
    run = step_run_of(id_arg("sr", BIGINT_MAX))
    if run is None:
        from saas.engine.models import StepRun

        run = db.session.execute(select(StepRun).where(
            StepRun.provider_message_id == sid)).scalar_one_or_none()
    seen = db.session.execute(select(MessageEvent.kind).where(
        MessageEvent.provider == "twilio", MessageEvent.provider_event_id.like(f"{sid}:%")
    )).scalars().all()
    best = max((SMS_RANK.get(k, -1) for k in seen), default=-1)
    applied = SMS_RANK[status] > best
    error_code = _field("ErrorCode", bound=16) or None
    to = _field("To", bound=MAX_ADDRESS)
    events.record(kind=status, provider="twilio", provider_event_id=f"{sid}:{status}",
                  step_run_id=run.id if run else None, address=to or None, notify=applied,
                  data={"sid": sid, "error_code": error_code, "applied": applied,
                        "provider_message_id": sid})
    if applied and error_code == "21610" and to:
        suppress(to, "sms", "stop")  # the carrier says they opted out
    db.session.commit()
    return Response("", 204)


@bp.route("/twilio/inbound", methods=["POST"])
def twilio_inbound():
    if not _twilio_valid():
        return _refuse(403, "Bad or missing signature.")
    problem = _twilio_fields_problem("From")
    if problem:
        return _refuse(400, problem)
    sender = _field("From", bound=MAX_ADDRESS)
    sid = _field("MessageSid")
    body = _field("Body", bound=MAX_BODY)
    word = body.strip().split(" ")[0].upper().strip(".!")
    if not sender or not sid:
        return _refuse(400, "From and MessageSid are required.")
    if word in STOP_WORDS:
        events.record(kind="stop", provider="twilio", provider_event_id=f"in:{sid}",
                      address=sender, data={"body": body[:160]})
    elif word in START_WORDS:
        if events.record(kind="start", provider="twilio", provider_event_id=f"in:{sid}",
                         address=sender, data={"body": body[:160]}):
            unsuppress(sender)
    else:
        events.record(kind="inbound", provider="twilio", provider_event_id=f"in:{sid}",
                      address=sender, data={"body": body[:1600]})
    db.session.commit()
    return Response("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>", 200,
                    mimetype="text/xml")
