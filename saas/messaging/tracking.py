"""Tracking added to an outgoing email, and the signed tokens the tracking routes read.

Tokens are short, signed (HMAC-SHA256 under SECRET_KEY) and bound to their purpose: an open
token is no click token. A click token also signs the destination URL, so the redirect goes only
to a link that was in the message. Reply tokens go in the Reply-To local part, so they are
lower-case hex and stay under 64 characters.

    open        <tenant>-<step run>-<sig>
    click       <tenant>-<step run>-<sig over the URL>      (?u=<url>)
    unsubscribe <tenant>-<step run>-<sig over the address>  (?a=<address>)
    reply       r-<tenant>-<step run>-<sig>@<inbound domain>
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape, unescape
from urllib.parse import quote

from flask import current_app

from saas.i18n import _, speaking

OPEN, CLICK, UNSUBSCRIBE, REPLY = "open", "click", "unsubscribe", "reply"
SIG_LENGTH = 20  # hex characters: 80 bits


@lru_cache(maxsize=16)
def _key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"saas.tracking.{purpose}:{secret}".encode()).digest()


def _sig(purpose: str, message: str, secret: str | None = None) -> str:
    key = _key(secret or current_app.config["SECRET_KEY"], purpose)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:SIG_LENGTH]


def make(purpose: str, tenant_id: int, step_run_id: int, extra: str = "",
         secret: str | None = None) -> str:
    """`secret` defaults to the app's SECRET_KEY (a batch passes it to skip the lookup)."""
    signature = _sig(purpose, f"{tenant_id}-{step_run_id}-{extra}", secret)
    return f"{tenant_id}-{step_run_id}-{signature}"


@dataclass(frozen=True)
class Token:
    tenant_id: int
    step_run_id: int


def read(purpose: str, token: str, extra: str = "") -> Token | None:
    """The token's tenant and step run, or None when forged, truncated or of another purpose."""
    parts = (token or "").split("-")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        return None
    expected = _sig(purpose, f"{parts[0]}-{parts[1]}-{extra}")
    if not hmac.compare_digest(expected, parts[2]):
        return None
    return Token(int(parts[0]), int(parts[1]))


_REPLY = re.compile(rf"\br-(\d+-\d+-[0-9a-f]{{{SIG_LENGTH}}})@", re.IGNORECASE)


def reply_address(tenant_id: int, step_run_id: int, domain: str,
                  secret: str | None = None) -> str:
    return f"r-{make(REPLY, tenant_id, step_run_id, secret=secret)}@{domain}"


def read_reply(addresses: str) -> Token | None:
    """The step run named by a signed Reply-To in a list of recipient addresses."""
    for match in _REPLY.finditer(addresses or ""):
        token = read(REPLY, match.group(1).lower())
        if token:
            return token
    return None


# -- adding tracking to a message -----------------------------------------------------------------

_HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]+)(")', re.IGNORECASE)


@dataclass
class Tracked:
    html: str
    text: str
    headers: dict
    reply_to: str | None
    unsubscribe_url: str


class Tracker:
    """Builds the tracking for many messages of one tenant (URL prefixes computed once)."""

    def __init__(self, tenant_id: int, tenant_slug: str, inbound_domain: str = ""):
        base = current_app.config["PUBLIC_URL"].rstrip("/")
        self.tenant_id = tenant_id
        self.secret = current_app.config["SECRET_KEY"]
        self.prefix = f"{base}/{quote(tenant_slug)}/t"
        self.inbound_domain = inbound_domain

    def unsubscribe_url(self, step_run_id: int, address: str) -> str:
        token = make(UNSUBSCRIBE, self.tenant_id, step_run_id, address.lower(), self.secret)
        return f"{self.prefix}/u/{token}?a={quote(address.lower(), safe='@')}"

    def open_url(self, step_run_id: int) -> str:
        return f"{self.prefix}/o/{make(OPEN, self.tenant_id, step_run_id, '', self.secret)}.gif"

    def click_url(self, step_run_id: int, url: str) -> str:
        token = make(CLICK, self.tenant_id, step_run_id, url, self.secret)
        return f"{self.prefix}/c/{token}?u={quote(url, safe='')}"

    def apply(self, step_run_id: int, address: str, html: str, text: str,
              unsubscribe_url: str | None = None, *, language: str | None = None,
              fallback_language: str | None = None) -> Tracked:
        """The footer added when the message has no unsubscribe link of its own speaks
        `language` (the recipient's), else `fallback_language` (the workspace's); with
        neither, the language being spoken."""
        unsubscribe = unsubscribe_url or self.unsubscribe_url(step_run_id, address)

        def rewrite(match: re.Match) -> str:
            url = unescape(match.group(2))
            if not url.lower().startswith(("http://", "https://")) or url == unsubscribe:
                return match.group(0)
            return f"{match.group(1)}{escape(self.click_url(step_run_id, url))}{match.group(3)}"

        html = _HREF.sub(rewrite, html or "")
        if language or fallback_language:
            with speaking(language, fallback_language):
                link, line = _("Unsubscribe"), _("Unsubscribe: %(url)s", url=unsubscribe)
        else:
            link, line = _("Unsubscribe"), _("Unsubscribe: %(url)s", url=unsubscribe)
        if unsubscribe not in html and escape(unsubscribe) not in html:
            html += (f'<p style="font-size:12px;color:#666"><a href="{escape(unsubscribe)}">'
                     f"{escape(link)}</a></p>")
        html += (f'<img src="{escape(self.open_url(step_run_id))}" width="1" height="1" '
                 'alt="" style="display:none">')
        if unsubscribe not in (text or ""):
            text = f"{text or ''}\n\n{line}"
        headers = {"List-Unsubscribe": f"<{unsubscribe}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        reply_to = reply_address(self.tenant_id, step_run_id, self.inbound_domain, self.secret) \
            if self.inbound_domain else None
        return Tracked(html, text, headers, reply_to, unsubscribe)
