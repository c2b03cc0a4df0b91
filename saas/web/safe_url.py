"""The one check every `next` redirect goes through: a path on this site, in this tenant.

Browsers are lenient where Python's `urlsplit` is strict and the other way round: they drop tabs
and newlines anywhere in a URL (`/\\t/evil.example` becomes `//evil.example`), read a backslash
as a slash (`/\\evil.example`), and some proxies decode `%09` or `%5C` before a browser sees
them. So the check normalises first and refuses anything ambiguous rather than repairing it:
the value must be printable ASCII with no space or backslash (its path also once decoded),
start with `/<tenant>/`, and carry no scheme or host. The redirect is rebuilt from the parsed
path and query, so what is checked is what is sent.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from flask import g

MAX_LENGTH = 2048


def _plain(text: str) -> bool:
    """Printable ASCII only: no control character, space, DEL, backslash or non-ASCII."""
    return all(33 <= ord(ch) < 127 for ch in text) and "\\" not in text


def safe_next(target: str | None, tenant_slug: str | None = None) -> str | None:
    """`target` when it is a path on this site under the tenant's prefix; otherwise None."""
    if not target or len(target) > MAX_LENGTH or not _plain(target):
        return None
    slug = tenant_slug or getattr(getattr(g, "tenant", None), "slug", None)
    if not slug:
        return None
    # Only the path can name another host; the query may hold encoded spaces and the like.
    path = target.split("?", 1)[0].split("#", 1)[0]
    for _ in range(3):  # decoded up to three times: `%252F` is refused like `%2F` and `/`
        path, previous = unquote(path), path
        if not _plain(path) or path.startswith("//"):
            return None
        if path == previous:
            break
    else:
        return None
    parts = urlsplit(target)
    prefix = f"/{slug}/"
    if (parts.scheme or parts.netloc or not parts.path.startswith(prefix)
            or not path.startswith(prefix)):
        return None
    return urlunsplit(("", "", parts.path, parts.query, ""))
