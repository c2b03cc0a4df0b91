"""A record's LinkedIn address: checked and written one way, so links open the page meant.

Accepted: a person's profile (/in/<name>), a company page (/company/<name>) or an old public
profile (/pub/...), on linkedin.com, www.linkedin.com or a country's subdomain (fr.linkedin.com),
typed with https, http or no scheme. Stored with https, without the query string (LinkedIn's
share links carry tracking parameters) or fragment, without a trailing slash, non-ASCII letters
percent-encoded. The product only links there: it never fetches the page.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from saas.i18n import _

MAX_LENGTH = 300
_HOST = re.compile(r"^(?:(?:www|[a-z]{2})\.)?linkedin\.com$")
# One path segment as people paste it: letters (any script), digits, - _ . and %-escapes.
_SEGMENT = re.compile(r"^(?:[\w.\-~]|%[0-9A-Fa-f]{2})+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


class LinkedInUrlError(ValueError):
    """The address cannot be used; the message (in the viewer's language) says why."""


def clean_linkedin_url(raw: str) -> str:
    """The stored form of a LinkedIn address as typed, or LinkedInUrlError."""
    text = raw.strip()
    if len(text) > 4 * MAX_LENGTH:  # not worth parsing
        raise LinkedInUrlError(_("Use at most %(limit)s characters.", limit=MAX_LENGTH))
    if any(ch.isspace() or not ch.isprintable() for ch in text) or "\\" in text:
        raise LinkedInUrlError(_("A LinkedIn address cannot contain spaces or control "
                                 "characters."))
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        text = "https://" + text
    elif scheme_match.group(0).lower() not in ("https://", "http://"):
        raise _not_linkedin(raw.strip())
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unclosed "[" read as an IPv6 host
        parts = None
    host = parts.netloc.lower() if parts is not None else ""
    if parts is None or not _HOST.match(host):  # also refuses a port, a user, look-alike hosts
        raise _not_linkedin(raw.strip())
    path = _path(parts.path, raw.strip())
    url = f"https://{host}{path}"
    if len(url) > MAX_LENGTH:
        raise LinkedInUrlError(_("Use at most %(limit)s characters.", limit=MAX_LENGTH))
    return url


def _path(path: str, shown: str) -> str:
    """/in/<name> and /company/<name> (later segments, a profile's sub-pages, dropped), or
    /pub/<segments>; each segment checked and percent-encoded."""
    segments = [s for s in path.split("/") if s]
    kind = segments[0].lower() if segments else ""
    if kind in ("in", "company") and len(segments) >= 2:
        segments = [kind, segments[1]]
    elif kind == "pub" and len(segments) >= 2:
        segments = [kind, *segments[1:]]
    else:
        raise _not_a_page(shown)
    for segment in segments[1:]:
        if not _SEGMENT.match(segment) or segment in (".", ".."):
            raise _not_a_page(shown)
    return "/" + "/".join(quote(unquote(s), safe="-_.~") for s in segments)


def _not_linkedin(shown: str) -> LinkedInUrlError:
    return LinkedInUrlError(_("“%(value)s” is not a LinkedIn address: use one such as "
                              "https://www.linkedin.com/in/jane-doe.", value=shown))


def _not_a_page(shown: str) -> LinkedInUrlError:
    return LinkedInUrlError(_("“%(value)s” is not a LinkedIn profile or company page: after "
                              "linkedin.com comes /in/, /company/ or /pub/ and a name.",
                              value=shown))
