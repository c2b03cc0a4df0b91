"""What a signed provider body may contain before anything of it reaches the database.

A valid signature proves who sent a body, not that it is sensible: a list of junk, NUL bytes
(PostgreSQL refuses them in text and JSON), nesting deep enough to exhaust the parser, ids past
bigint. Each event is reduced to the scalar fields we use, cleaned and bounded; a body that
cannot be read is refused with a reason (400) instead of a 500 the provider retries forever.
"""

from __future__ import annotations

import json

from saas.web.ids import BIGINT_MAX, parse_id
from saas.web.params import clean_text

MAX_EVENTS = 5_000
MAX_DEPTH = 20  # SendGrid sends a list of flat objects; anything deeper is not theirs
TEXT_LIMITS = {"event": 32, "sg_event_id": 128, "sg_message_id": 256, "email": 254, "url": 2048,
               "reason": 1000, "type": 32, "status": 64, "response": 1000, "useragent": 512,
               "ip": 64}


class Unreadable(ValueError):
    """The body cannot be used; the message is the reason the provider is told."""


def _depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, counted without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def sendgrid_events(raw: bytes) -> list[dict]:
    """The events of a SendGrid Event Webhook body, each cleaned; Unreadable when it is not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("The body is not UTF-8.") from None
    if _depth(text) > MAX_DEPTH:
        raise Unreadable("The body is nested too deeply.")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise Unreadable("The body is not JSON.") from None
    if not isinstance(payload, list):
        raise Unreadable("Expected a list of events.")
    if len(payload) > MAX_EVENTS:
        raise Unreadable(f"Too many events in one request (at most {MAX_EVENTS}).")
    return [event for event in map(clean_event, payload) if event is not None]


def _scalar_text(value, limit: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = clean_text(str(value)).strip()
    return text[:limit] or None


def clean_event(item) -> dict | None:
    """The fields of one event we read, as bounded text (ids as numbers), or None."""
    if not isinstance(item, dict):
        return None
    event = {key: _scalar_text(item.get(key), limit) for key, limit in TEXT_LIMITS.items()}
    event = {key: value for key, value in event.items() if value is not None}
    if "event" not in event or "sg_event_id" not in event:
        return None
    for key, limit in (("step_run_id", BIGINT_MAX), ("tenant_id", BIGINT_MAX)):
        value = item.get(key)
        if value is not None and not isinstance(value, bool):
            event[key] = parse_id(value if isinstance(value, int | str) else None, limit)
    timestamp = item.get("timestamp")
    if isinstance(timestamp, int | str) and not isinstance(timestamp, bool):
        event["timestamp"] = parse_id(timestamp, 253402300799)  # before the year 10000
    return event
