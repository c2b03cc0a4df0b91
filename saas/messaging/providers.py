"""The provider calls, each classified into a `SendResult` (they never raise for a provider's or
the network's failure).

- SendGrid: the request as the `sendgrid` package builds it (the body from its `Mail` helpers'
  `.get()`, the URL and headers from `SendGridAPIClient(api_key, host=<base URL>)`), sent over
  this process's pooled urllib3 connections (`connections.post`) with the provider timeout.
- Twilio: `Client(sid, token, http_client=TwilioHttpClient(timeout=...))` with the Api domain's
  `base_url` pointed at the configured base URL.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from email.utils import parseaddr

import requests
import urllib3
from flask import current_app, has_app_context
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Category, CustomArg, From, Header, Mail, ReplyTo, To
from sendgrid.helpers.mail.exceptions import ApiKeyIncludedException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient
from urllib3.exceptions import EmptyPoolError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from saas.i18n import N_
from saas.messaging import connections
from saas.messaging.result import SendResult

MAX_ERROR = 500
SEND_PATH = "/v3/mail/send"
DEFAULT_CONCURRENCY = 32  # SEND_CONCURRENCY's default, outside an application
# A stored secret no encryption key here can read: nothing is sent (nor put in the outbox), the
# message waits and is tried again later, while Settings and Home say why.
KEY_UNREADABLE_RETRY_SECONDS = 3600.0
# Stored in English on the step run (translated where it is shown).
SENDGRID_KEY_UNREADABLE = N_("The stored SendGrid key can't be read: enter it again in Settings")
TWILIO_TOKEN_UNREADABLE = N_("The stored Twilio auth token can't be read: enter it again in "  # noqa: S105
                             "Settings")


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


def _sendgrid_reason(response: urllib3.BaseHTTPResponse) -> str:
    try:
        body = json.loads(response.data.decode("utf-8"))
        messages = [e.get("message", "") for e in body.get("errors", [])]
        text = "; ".join(m for m in messages if m)
    except (ValueError, AttributeError, TypeError):
        text = ""
    return f"SendGrid {response.status}: {text or response.reason}"[:MAX_ERROR]


def _refused(reason) -> bool:
    return isinstance(reason, ConnectionRefusedError | socket.gaierror) or (
        isinstance(reason, OSError) and reason.errno in (111, 61))


def _cause(error: BaseException) -> BaseException:
    """The error at the bottom of urllib3's wrapping (a `NewConnectionError` is raised from the
    socket's; `ProtocolError` and `ProxyError` carry the error they wrap)."""
    for _ in range(8):
        if not isinstance(error, urllib3.exceptions.HTTPError):
            break
        below = error.__cause__ or next(
            (a for a in error.args if isinstance(a, BaseException)), None) or error.__context__
        if below is None:
            break
        error = below
    return error


def _timed_out(error: BaseException) -> bool:
    """A timeout connecting, writing or reading (not a refused connection, which urllib3 also
    files under `ConnectTimeoutError`)."""
    if isinstance(error, Urllib3Timeout) and not isinstance(error, NewConnectionError):
        return True
    return isinstance(_cause(error), TimeoutError)


@dataclass(frozen=True)
class Unsendable:
    """A message the `sendgrid` helpers refused to build (`sendgrid_send` reports it failed)."""

    reason: str


def _email(kind, value: str, name: str | None = None):
    """A `From`/`To`/`ReplyTo` of the address as given ("Name <address>" split), not re-parsed
    by the helper."""
    if "<" in value:
        parsed_name, value = parseaddr(value)
        name = name or parsed_name
    email = kind()
    email.email = value
    email.name = name or None
    return email


def build_mail(*, to: str, from_address: str, from_name: str, subject: str, html: str, text: str,
               reply_to: str | None, headers: dict | None, custom_args: dict | None,
               categories: list | None) -> dict | Unsendable:
    """The v3 `mail/send` body, from the library's `Mail(...).get()`; `Unsendable` when the
    library refuses it (a body that begins like a SendGrid API key)."""
    try:
        mail = Mail(from_email=_email(From, from_address, from_name or None),
                    to_emails=_email(To, to), subject=subject, plain_text_content=text or " ",
                    html_content=html or None)
    except ApiKeyIncludedException:
        return Unsendable("SendGrid's library refuses a body that begins like an API key")
    # The helpers insert each header, argument and category first: added in reverse, they keep
    # the caller's order.
    for key, value in reversed(list((headers or {}).items())):
        mail.add_header(Header(str(key), str(value)))
    for category in reversed((categories or [])[:10]):
        mail.add_category(Category(str(category)[:255]))
    for key, value in reversed(list((custom_args or {}).items())):
        mail.add_custom_arg(CustomArg(str(key), str(value)))
    if reply_to:
        mail.reply_to = _email(ReplyTo, reply_to)
    return mail.get()


_requests: dict[tuple[str, str], tuple[str, dict]] = {}


def _sendgrid_request(api_key: str, base_url: str) -> tuple[str, dict]:
    """(URL, headers) of `mail/send` as `SendGridAPIClient` makes them (Authorization,
    User-Agent, Accept; the Content-Type its HTTP client adds to a JSON body), per key and base
    URL."""
    found = _requests.get((api_key, base_url))
    if found is None:
        client = SendGridAPIClient(api_key, host=base_url.rstrip("/"))
        headers = {**client.client.request_headers, "Content-Type": "application/json"}
        found = (client.host + SEND_PATH, headers)
        if len(_requests) > 32:
            _requests.clear()
        _requests[(api_key, base_url)] = found
    return found


def calls_per_tenant(config) -> int:
    """Provider calls in flight for one tenant being served: SEND_CONCURRENCY, a worker's
    calls at once, shared by the SEND_SWEEP_TENANTS tenants a sweep serves at once."""
    total = max(1, int(config.get("SEND_CONCURRENCY", DEFAULT_CONCURRENCY)))
    return max(1, total // max(1, int(config.get("SEND_SWEEP_TENANTS", 1))))


def pool_size() -> int:
    """The pool's size: the provider calls a worker makes at once (each of the tenants a sweep
    serves at once has its share, so one tenant's slow calls never leave another waiting for a
    connection)."""
    if has_app_context():
        config = current_app.config
        tenants = max(1, int(config.get("SEND_SWEEP_TENANTS", 1)))
        return max(calls_per_tenant(config) * tenants,
                   int(config.get("SEND_CONCURRENCY", DEFAULT_CONCURRENCY)))
    return DEFAULT_CONCURRENCY


def sendgrid_send(*, api_key: str, base_url: str, timeout: float,
                  payload: dict | Unsendable, size: int | None = None) -> SendResult:
    """`size`: the connection pool's (`pool_size()`, read here when not given)."""
    if not api_key:
        return SendResult("retry", "sendgrid", error=SENDGRID_KEY_UNREADABLE,
                          retry_after=KEY_UNREADABLE_RETRY_SECONDS)
    if isinstance(payload, Unsendable):
        return SendResult("failed", "sendgrid", error=payload.reason)
    url, headers = _sendgrid_request(api_key, base_url)
    size = size or pool_size()
    try:
        response = connections.post(url, json=payload, headers=headers, timeout=timeout,
                                    size=size)
    except EmptyPoolError:  # waited for a connection: nothing was sent
        return SendResult("retry", "sendgrid", error=f"no free connection: all {size} "
                          f"connections stayed busy for {timeout}s")
    except (urllib3.exceptions.HTTPError, OSError) as error:
        cause = _cause(error)
        if _timed_out(error):
            reason = error if isinstance(error, ReadTimeoutError) else cause
            return SendResult("unknown", "sendgrid",
                              error=f"timeout after {timeout}s ({reason})"[:MAX_ERROR])
        if _refused(cause):
            return SendResult("retry", "sendgrid", error=f"connection refused: {cause}")
        return SendResult("unknown", "sendgrid",
                          error=f"connection lost: {type(cause).__name__} {cause}"[:MAX_ERROR])
    status = response.status
    if status == 429:
        return SendResult("retry", "sendgrid", error="SendGrid 429: rate limited",
                          retry_after=_retry_after(response.headers))
    if status >= 500:
        return SendResult("unknown", "sendgrid", error=_sendgrid_reason(response))
    if status >= 400:
        return SendResult("failed", "sendgrid", error=_sendgrid_reason(response))
    if not 200 <= status < 300:  # 1xx/3xx: not accepted as far as we can tell
        return SendResult("unknown", "sendgrid", error=f"SendGrid {status}")
    message_id = response.headers.get("X-Message-Id")
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
