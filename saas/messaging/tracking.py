"""Tracking added to an outgoing email, and the signed tokens the tracking routes read.

Tokens are short, signed with itsdangerous and bound to their purpose (each its own salt): an
open token is no click token. A click token also signs the destination URL, so the redirect goes
only to a link that was in the message. The newest key signs (`SECRET_KEY`); it and the keys in
`OLD_SECRET_KEYS` verify, so links already in people's inboxes outlive a key rotation.

    open        <tenant>-<step run>.<sig>                   (base64url, 120 bits)
    click       <tenant>-<step run>.<sig over the URL>      (?u=<url>)
    unsubscribe <tenant>-<step run>.<sig over the address>  (?a=<address>)
    reply       r-<tenant>-<step run>-<sig>@<inbound domain> (lower-case hex, 80 bits)

Reply tokens go in the Reply-To local part, so they are lower-case hex and stay under 64
characters. Tokens made before itsdangerous signed them (a hand-rolled HMAC, `-` before a hex
signature) still verify: see `_legacy_ok`.
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
from itsdangerous import Signer
from itsdangerous.signer import HMACAlgorithm

from saas.auth.tokens import secret_keys
from saas.i18n import _, language_of, speaking

OPEN, CLICK, UNSUBSCRIBE, REPLY = "open", "click", "unsubscribe", "reply"
SIG_LENGTH = 20  # characters of a reply token's (and a legacy token's) hex signature: 80 bits
SIG_BYTES = 15  # a tracking token's signature: 120 bits, 20 base64url characters


class _Truncated(HMACAlgorithm):
    """HMAC-SHA256 cut to `size` bytes: links stay short enough for a text message."""

    def __init__(self, size: int):
        super().__init__(hashlib.sha256)
        self.size = size

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:self.size]


class _Signer(Signer):
    """Derives each key once (a signer is cached per purpose and keys; a batch makes thousands
    of tokens)."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        cache = self.__dict__.setdefault("_derived", {})
        derived = cache.get(secret_key)
        if derived is None:
            derived = cache[secret_key] = super().derive_key(secret_key)
        return derived


class _HexSigner(_Signer):
    """A Signer whose signature is lower-case hex (a Reply-To local part may be lower-cased on
    its way back)."""

    def get_signature(self, value: str | bytes) -> bytes:
        value = value.encode() if isinstance(value, str) else value
        return self.algorithm.get_signature(self.derive_key(), value).hex().encode()

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        try:
            raw = bytes.fromhex(sig.decode() if isinstance(sig, bytes) else sig)
        except ValueError:
            return False
        value = value.encode() if isinstance(value, str) else value
        return any(self.algorithm.verify_signature(self.derive_key(key), value, raw)
                   for key in reversed(self.secret_keys))


@lru_cache(maxsize=64)
def _signer(purpose: str, keys: tuple[str, ...]) -> Signer:
    """`keys`: oldest first, the signing key last (itsdangerous' order)."""
    if purpose == REPLY:
        return _HexSigner(list(keys), salt=f"saas.tracking.{purpose}", key_derivation="hmac",
                          digest_method=hashlib.sha256, algorithm=_Truncated(SIG_LENGTH // 2))
    return _Signer(list(keys), salt=f"saas.tracking.{purpose}", key_derivation="hmac",
                   digest_method=hashlib.sha256, algorithm=_Truncated(SIG_BYTES))


def _keys(keys: tuple[str, ...] | None) -> tuple[str, ...]:
    return keys or tuple(secret_keys())


def make(purpose: str, tenant_id: int, step_run_id: int, extra: str = "",
         keys: tuple[str, ...] | None = None) -> str:
    """`keys` default to the app's (a batch passes them to skip the lookup)."""
    ids = f"{tenant_id}-{step_run_id}"
    signature = _signer(purpose, _keys(keys)).get_signature(f"{ids}-{extra}").decode()
    return f"{ids}{'-' if purpose == REPLY else '.'}{signature}"


@dataclass(frozen=True)
class Token:
    tenant_id: int
    step_run_id: int


def _ids(text: str) -> tuple[str, str] | None:
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return parts[0], parts[1]


def read(purpose: str, token: str, extra: str = "") -> Token | None:
    """The token's tenant and step run, or None when forged, truncated or of another purpose."""
    token = token or ""
    keys = _keys(None)
    if purpose == REPLY:
        ids_text, _sep, signature = token.rpartition("-")
    else:
        ids_text, _sep, signature = token.partition(".")
    ids = _ids(ids_text) if signature else None
    if ids is not None and _signer(purpose, keys).verify_signature(
            f"{ids_text}-{extra}", signature):
        return Token(int(ids[0]), int(ids[1]))
    return _legacy_read(purpose, token, extra, keys)


# -- tokens from before itsdangerous ---------------------------------------------------------------
# Messages sent before tokens went through itsdangerous carry `<tenant>-<step run>-<sig>`, `sig`
# the first 20 hex characters of HMAC-SHA256 under sha256("saas.tracking.<purpose>:<key>"). An
# unsubscribe link must work as long as the message sits in an inbox, so they are checked, with
# SECRET_KEY and every key in OLD_SECRET_KEYS, for good. Nothing makes them any more.

@lru_cache(maxsize=64)
def _legacy_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"saas.tracking.{purpose}:{secret}".encode()).digest()


def _legacy_ok(purpose: str, message: str, signature: str, keys: tuple[str, ...]) -> bool:
    return any(hmac.compare_digest(
        hmac.new(_legacy_key(key, purpose), message.encode(),
                 hashlib.sha256).hexdigest()[:SIG_LENGTH], signature) for key in keys)


def _legacy_read(purpose: str, token: str, extra: str, keys: tuple[str, ...]) -> Token | None:
    parts = token.split("-")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[:2]) or \
            not parts[2].isascii():
        return None
    if not _legacy_ok(purpose, f"{parts[0]}-{parts[1]}-{extra}", parts[2], keys):
        return None
    return Token(int(parts[0]), int(parts[1]))


_REPLY = re.compile(rf"\br-(\d+-\d+-[0-9a-f]{{{SIG_LENGTH}}})@", re.IGNORECASE)


def reply_address(tenant_id: int, step_run_id: int, domain: str,
                  keys: tuple[str, ...] | None = None) -> str:
    return f"r-{make(REPLY, tenant_id, step_run_id, keys=keys)}@{domain}"


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
        self.keys = tuple(secret_keys())
        self.prefix = f"{base}/{quote(tenant_slug)}/t"
        self.inbound_domain = inbound_domain
        self.footers: dict[str, tuple[str, str]] = {}  # language: (link, line), see `_footer`

    def _footer(self, language: str | None, fallback_language: str | None) -> tuple[str, str]:
        """The footer's link text and text line (its `%(url)s` to fill), in `language`, else
        `fallback_language`, else the language being spoken: translated once per language
        for all the messages of a batch."""
        if not (language or fallback_language):
            return _("Unsubscribe"), _("Unsubscribe: %(url)s")
        key = language_of(language, fallback_language)
        found = self.footers.get(key)
        if found is None:
            with speaking(language, fallback_language):
                found = self.footers[key] = (_("Unsubscribe"), _("Unsubscribe: %(url)s"))
        return found

    def unsubscribe_url(self, step_run_id: int, address: str) -> str:
        token = make(UNSUBSCRIBE, self.tenant_id, step_run_id, address.lower(), self.keys)
        return f"{self.prefix}/u/{token}?a={quote(address.lower(), safe='@')}"

    def open_url(self, step_run_id: int) -> str:
        return f"{self.prefix}/o/{make(OPEN, self.tenant_id, step_run_id, '', self.keys)}.gif"

    def click_url(self, step_run_id: int, url: str) -> str:
        token = make(CLICK, self.tenant_id, step_run_id, url, self.keys)
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
        link, line = self._footer(language, fallback_language)
        line = line % {"url": unsubscribe}
        if unsubscribe not in html and escape(unsubscribe) not in html:
            html += (f'<p style="font-size:12px;color:#666"><a href="{escape(unsubscribe)}">'
                     f"{escape(link)}</a></p>")
        html += (f'<img src="{escape(self.open_url(step_run_id))}" width="1" height="1" '
                 'alt="" style="display:none">')
        if unsubscribe not in (text or ""):
            text = f"{text or ''}\n\n{line}"
        headers = {"List-Unsubscribe": f"<{unsubscribe}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        reply_to = reply_address(self.tenant_id, step_run_id, self.inbound_domain, self.keys) \
            if self.inbound_domain else None
        return Tracked(html, text, headers, reply_to, unsubscribe)
