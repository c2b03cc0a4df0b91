"""Where a webhook may go: an http(s) URL (https only with OUTBOUND_WEBHOOK_HTTPS_ONLY) whose
host resolves only to public addresses, unless OUTBOUND_WEBHOOK_ALLOW_PRIVATE (the tests' local
receiver).

Checked when a subscription is saved and again at each delivery, on the resolved addresses:
the name is resolved once, every address it gives is checked, and the request goes to a
checked address (`post`), with the URL's host in the Host header and as the TLS server name
(SNI and certificate check), so a DNS answer that changes between the check and the connection
(rebinding) cannot send it anywhere else.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from flask import current_app

from saas.i18n import _

EXCERPT = 2000  # characters of a response body kept with the attempt
MAX_URL = 2000


class AddressRefused(ValueError):
    """The URL may not be used; the message says why (a sentence for the admin)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent


def parse(url: str) -> Target:
    parts = urlsplit((url or "").strip())
    https_only = bool(current_app.config.get("OUTBOUND_WEBHOOK_HTTPS_ONLY"))
    allowed = ("https",) if https_only else ("https", "http")
    if parts.scheme not in allowed:
        raise AddressRefused(_("The URL must start with https://.") if https_only
                             else _("The URL must start with https:// or http://."))
    try:
        port = parts.port
    except ValueError:
        raise AddressRefused(_("The URL's port is not a number from 1 to 65535.")) from None
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise AddressRefused(_("Give a URL such as https://hooks.example.com/sequences, with "
                               "no user name, password or #fragment."))
    if len(url) > MAX_URL:
        raise AddressRefused(_("The URL is too long: at most 2,000 characters."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80),
                  path)


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def resolve(target: Target) -> list[str]:
    """The host's addresses, every one of them allowed, or AddressRefused."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise AddressRefused(_("%(host)s could not be found (DNS).", host=target.host)) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise AddressRefused(_("%(host)s could not be found (DNS).", host=target.host))
    if not current_app.config.get("OUTBOUND_WEBHOOK_ALLOW_PRIVATE"):
        if any(_forbidden(address) for address in addresses):
            raise AddressRefused(_("%(host)s points to a private, loopback, link-local or "
                                   "reserved address: webhooks go to public addresses only.",
                                   host=target.host))
    return addresses


def check(url: str) -> str:
    """The URL, cleaned, when a subscription may use it; else AddressRefused."""
    url = (url or "").strip()
    resolve(parse(url))
    return url


@dataclass
class Answer:
    status: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` at one of its checked addresses; never raises for the network."""
    started = time.monotonic()

    def done(status=None, excerpt=None, error=None) -> Answer:
        return Answer(status, excerpt, error and error[:500],
                      int((time.monotonic() - started) * 1000))

    try:
        target = parse(url)
        addresses = resolve(target)
    except AddressRefused as refused:
        return done(error=str(refused))
    seconds = float(current_app.config["OUTBOUND_WEBHOOK_TIMEOUT_SECONDS"])
    timeout = urllib3.Timeout(connect=min(seconds, 5.0), read=seconds)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and target.port != default_port:
        host_header = f"[{target.host}]:{target.port}"
    headers = {**headers, "Host": host_header}
    failure = None
    for address in addresses:  # each checked address in turn, until one takes the connection
        try:
            return done(*_call(target, address, timeout, body, headers))
        except urllib3.exceptions.ConnectTimeoutError as error:  # refused or silent: the next
            failure = _("Could not connect: %(error)s", error=type(error).__name__)
        except urllib3.exceptions.TimeoutError:
            return done(error=_("No answer within %(seconds)s seconds.",
                                seconds=f"{seconds:g}"))
        except urllib3.exceptions.HTTPError as error:
            return done(error=_("Could not connect: %(error)s", error=type(error).__name__))
    return done(error=failure)


def _call(target: Target, address: str, timeout, body: bytes, headers: dict) -> tuple:
    """(status, excerpt) of one POST to `address`, the URL's host named in Host and, over TLS,
    as the server name the certificate must match."""
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, target.port, timeout=timeout, retries=False, maxsize=1,
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False,
                                          maxsize=1)
    try:
        response = pool.urlopen("POST", target.path, body=body, redirect=False, headers=headers,
                                preload_content=False, assert_same_host=False)
        try:
            raw = response.read(EXCERPT * 4, decode_content=False)
        finally:
            response.release_conn()
        return response.status, raw.decode("utf-8", "replace")[:EXCERPT] or None
    finally:
        pool.close()
