"""Kept-alive connections for the official SendGrid client.

`python_http_client.Client` (under `SendGridAPIClient`) opens a new connection for every request
through urllib, and says "Connection: close": one TCP (in production: TLS) handshake per email.
`KeptAliveClient` is that same client (request, headers, JSON body and error mapping are the
library's) whose `_make_request` — the seam the library provides — sends over one connection
per thread and host, kept open between requests.

A kept connection is reused only if it is plainly alive: not idle too long and with nothing to
read (a server that closed it has left an end-of-file there). Any failure closes it, and the
error reaches the caller as it would have from urllib's own connection (refused, timed out,
lost), never retried here: a POST that may have left is not sent twice.
"""

from __future__ import annotations

import http.client
import io
import select
import threading
import time
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.response import addinfourl

import python_http_client
from python_http_client.exceptions import handle_error

IDLE_SECONDS = 30.0  # under the idle time-outs of load balancers in front of APIs
_local = threading.local()


class _Kept:
    __slots__ = ("connection", "last_used")

    def __init__(self, connection: http.client.HTTPConnection):
        self.connection = connection
        self.last_used = time.monotonic()

    def usable(self) -> bool:
        if time.monotonic() - self.last_used > IDLE_SECONDS:
            return False
        sock = self.connection.sock
        if sock is None:
            return False
        readable, _, _ = select.select([sock], [], [], 0)
        return not readable  # an idle connection with something to read has been closed


def _connection(scheme: str, netloc: str, timeout: float | None) -> http.client.HTTPConnection:
    pool = _local.__dict__.setdefault("connections", {})
    key = (scheme, netloc, timeout)
    kept = pool.pop(key, None)
    if kept is not None and kept.usable():
        return kept.connection
    if kept is not None:
        kept.connection.close()
    factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    return factory(netloc, timeout=timeout)


def _keep(scheme: str, netloc: str, timeout: float | None,
          connection: http.client.HTTPConnection) -> None:
    pool = _local.__dict__.setdefault("connections", {})
    old = pool.pop((scheme, netloc, timeout), None)
    if old is not None and old.connection is not connection:
        old.connection.close()
    pool[(scheme, netloc, timeout)] = _Kept(connection)


class KeptAliveClient(python_http_client.Client):
    def _build_client(self, name=None):
        url_path = self._url_path + [name] if name else self._url_path
        return KeptAliveClient(host=self.host, version=self._version,
                               request_headers=self.request_headers, url_path=url_path,
                               append_slash=self.append_slash, timeout=self.timeout)

    def _make_request(self, opener, request, timeout=None):
        timeout = timeout or self.timeout
        url = urlsplit(request.full_url)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        connection = _connection(url.scheme, url.netloc, timeout)
        try:
            connection.request(request.get_method(), path, body=request.data,
                               headers=dict(request.header_items()))
            response = connection.getresponse()
            body = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            _keep(url.scheme, url.netloc, timeout, connection)
        if response.status >= 400:
            raise handle_error(HTTPError(request.full_url, response.status, response.reason,
                                         response.headers, io.BytesIO(body)))
        return addinfourl(io.BytesIO(body), response.headers, request.full_url,
                          code=response.status)


def close_all() -> None:
    """Close this thread's kept connections (tests; a worker about to fork)."""
    pool = _local.__dict__.pop("connections", {})
    for kept in pool.values():
        kept.connection.close()
