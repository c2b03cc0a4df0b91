"""The provider calls, through the official clients, each classified into a `SendResult` (they
never raise for a provider's or the network's failure).

- SendGrid: `SendGridAPIClient(api_key, host=<base URL>)`, its HTTP client's `timeout` always set
  and its connections kept alive between requests (`connections.KeptAliveClient`).
- Twilio: `Client(sid, token, http_client=TwilioHttpClient(timeout=...))` with the Api domain's
  `base_url` pointed at the configured base URL.

Without a key (the stored one cannot be decrypted: `config.MessagingConfig.unreadable`) nothing
is called: the answer is "retry" a while later, so the messages wait for the key to be entered
again instead of failing or going to the outbox.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
from email.utils import parseaddr

import requests
from python_http_client import exceptions as sg_errors
from sendgrid import SendGridAPIClient
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from saas.i18n import N_
from saas.messaging.connections import KeptAliveClient
from saas.messaging.result import SendResult

MAX_ERROR = 500
# Stored in English on the step run (translated where it is shown).
SENDGRID_KEY_UNREADABLE = N_("The stored SendGrid key can't be read: enter it again in Settings")
TWILIO_TOKEN_UNREADABLE = N_("The stored Twilio auth token can't be read: enter it again in "
                             "Settings")
KEY_UNREADABLE_RETRY_SECONDS = 1800.0  # how long messages wait before the next look at the key


def _retry_after(headers) -> float | None:
    """Seconds until the provider's rate limit resets (X-RateLimit-Reset is an epoch time,
    Retry-After a number of seconds)."""
    if not headers:
        return None
    get = headers.get
    reset = get("X-RateLimit-Reset") or get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            pass
    after = get("Retry-After") or get("retry-after")
    if after:
        try:
            return max(0.0, float(after))
        except ValueError:
            pass
    return None


def _sendgrid_reason(error: sg_errors.HTTPError) -> str:
    try:
        body = json.loads(error.body.decode("utf-8") if isinstance(error.body, bytes)
                          else error.body)
        messages = [e.get("message", "") for e in body.get("errors", [])]
        text = "; ".join(m for m in messages if m)
    except (ValueError, AttributeError, TypeError):
        text = ""
    return f"SendGrid {error.status_code}: {text or error.reason}"[:MAX_ERROR]


def _refused(reason) -> bool:
    return isinstance(reason, ConnectionRefusedError | socket.gaierror) or (
        isinstance(reason, OSError) and reason.errno in (111, 61))


def _address(value: str, name: str | None = None) -> dict:
    if "<" in value:  # "Name <address>"
        parsed_name, value = parseaddr(value)
        name = name or parsed_name
    return {"email": value, "name": name} if name else {"email": value}


def build_mail(*, to: str, from_address: str, from_name: str, subject: str, html: str, text: str,
               reply_to: str | None, headers: dict | None, custom_args: dict | None,
               categories: list | None) -> dict:
    """The v3 `mail/send` body (what the library's `Mail(...).get()` produces, without the
    helper objects: they cost more CPU than the request itself)."""
    content = [{"type": "text/plain", "value": text or " "}]
    if html:
        content.append({"type": "text/html", "value": html})
    payload = {"from": _address(from_address, from_name or None), "subject": subject,
               "personalizations": [{"to": [_address(to)]}], "content": content}
    if headers:
        payload["headers"] = {str(k): str(v) for k, v in headers.items()}
    if categories:
        payload["categories"] = [str(c)[:255] for c in categories[:10]]
    if custom_args:
        payload["custom_args"] = {str(k): str(v) for k, v in custom_args.items()}
    if reply_to:
        payload["reply_to"] = _address(reply_to)
    return payload


_local = threading.local()


def sendgrid_client(api_key: str, base_url: str, timeout: float) -> SendGridAPIClient:
    """One client per thread and settings (its HTTP client keeps mutable headers)."""
    cache = _local.__dict__.setdefault("sendgrid", {})
    key = (api_key, base_url, timeout)
    client = cache.get(key)
    if client is None:
        if len(cache) > 32:
            cache.clear()
        client = SendGridAPIClient(api_key, host=base_url)
        client.client = KeptAliveClient(host=client.host, version=3, timeout=timeout,
                                        request_headers=client.client.request_headers)
        cache[key] = client
    return client


def sendgrid_send(*, api_key: str, base_url: str, timeout: float, payload: dict) -> SendResult:
    if not api_key:
        return SendResult("retry", "sendgrid", error=SENDGRID_KEY_UNREADABLE,
                          retry_after=KEY_UNREADABLE_RETRY_SECONDS)
    client = sendgrid_client(api_key, base_url, timeout)
    try:
        response = client.send(payload)
    except sg_errors.HTTPError as error:
        if error.status_code == 429:
            return SendResult("retry", "sendgrid", error="SendGrid 429: rate limited",
                              retry_after=_retry_after(error.headers))
        if error.status_code >= 500:
            return SendResult("unknown", "sendgrid", error=_sendgrid_reason(error))
        return SendResult("failed", "sendgrid", error=_sendgrid_reason(error))
    except urllib.error.URLError as error:
        if _refused(error.reason):
            return SendResult("retry", "sendgrid", error=f"connection refused: {error.reason}")
        return SendResult("unknown", "sendgrid", error=f"network error: {error.reason}"[:MAX_ERROR])
    except TimeoutError as error:
        return SendResult("unknown", "sendgrid", error=f"timeout after {timeout}s ({error})")
    except (http.client.HTTPException, ConnectionError, OSError) as error:
        if _refused(error):
            return SendResult("retry", "sendgrid", error=f"connection refused: {error}")
        return SendResult("unknown", "sendgrid",
                          error=f"connection lost: {type(error).__name__} {error}"[:MAX_ERROR])
    message_id = None
    if response.headers:
        message_id = response.headers.get("X-Message-Id") or response.headers.get("x-message-id")
    if not 200 <= response.status_code < 300:  # 1xx/3xx: not accepted as far as we can tell
        return SendResult("unknown", "sendgrid", error=f"SendGrid {response.status_code}")
    return SendResult("sent", "sendgrid", message_id=message_id or f"sg-{time.time_ns()}")


def twilio_client(*, sid: str, token: str, base_url: str, timeout: float) -> TwilioClient:
    client = TwilioClient(sid, token, http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = base_url
    return client


def twilio_send(*, sid: str, token: str, base_url: str, timeout: float, to: str, from_: str,
                body: str, status_callback: str | None) -> SendResult:
    if not token:
        return SendResult("retry", "twilio", error=TWILIO_TOKEN_UNREADABLE,
                          retry_after=KEY_UNREADABLE_RETRY_SECONDS)
    client = twilio_client(sid=sid, token=token, base_url=base_url, timeout=timeout)
    kwargs = {"to": to, "from_": from_, "body": body}
    if status_callback:
        kwargs["status_callback"] = status_callback
    try:
        message = client.messages.create(**kwargs)
    except TwilioRestException as error:
        reason = f"Twilio {error.status} ({error.code}): {error.msg}"[:MAX_ERROR]
        if error.status == 429:
            return SendResult("retry", "twilio", error=reason)
        if error.status >= 500:
            return SendResult("unknown", "twilio", error=reason)
        return SendResult("failed", "twilio", error=reason)
    except requests.exceptions.ConnectTimeout as error:
        return SendResult("unknown", "twilio", error=f"connect timeout: {error}"[:MAX_ERROR])
    except requests.exceptions.ConnectionError as error:
        text = str(error)
        if "refused" in text.lower() or "Errno 111" in text:
            return SendResult("retry", "twilio", error="connection refused")
        return SendResult("unknown", "twilio", error=f"connection lost: {text}"[:MAX_ERROR])
    except requests.exceptions.Timeout as error:
        return SendResult("unknown", "twilio", error=f"timeout after {timeout}s ({error})")
    except (requests.exceptions.RequestException, TwilioException) as error:
        return SendResult("unknown", "twilio", error=f"{type(error).__name__}: {error}"[:MAX_ERROR])
    return SendResult("sent", "twilio", message_id=message.sid)
