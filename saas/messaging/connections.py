"""Kept-alive connections for the official SendGrid client.

`python_http_client.Client` (under `SendGridAPIClient`) opens a new connection for every request
through urllib, and says "Connection: close": one TCP (in production: TLS) handshake per email.
It also builds a new urllib opener for every request, which scans the environment for proxies
and introspects ten handlers: a third of the CPU an email costs. `KeptAliveClient` is that same
client (URL, headers, JSON body, typed errors and `Response` are the library's) whose requests
go over one connection per thread and host, kept open between requests, through
`_make_request`, the seam the library provides. With a proxy configured in the environment for
the provider's host, everything goes the library's own way (urllib, through the proxy).

A kept connection is reused only if it is plainly alive: not idle too long and with nothing to
read (a server that closed it has left an end-of-file there). Any failure closes it, and the
error reaches the caller as it would have from urllib's own connection (refused, timed out,
lost), never retried here: a POST that may have left is not sent twice.
"""

from __future__ import annotations

import functools
import http.client
import io
import json
import select
import threading
import time
import urllib.request
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.response import addinfourl

import python_http_client
from python_http_client.client import Response
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


@functools.cache
def _proxied(host: str) -> bool:
    """Whether the environment sends requests to this base URL through a proxy (read once)."""
    url = urlsplit(host)
    return url.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(
        url.hostname or "")


class KeptAliveClient(python_http_client.Client):
    def __getattr__(self, name):
        if name in self.methods and not _proxied(self.host):
            return functools.partial(self._request, name.upper())
        return super().__getattr__(name)

    def _request(self, method: str, request_body=None, query_params=None, request_headers=None,
                 timeout=None, **_):
        """The library's `http_request`, without building an opener nobody uses."""
        if request_headers:
            self._update_headers(request_headers)
        data = None
        if request_body is not None:
            if self.request_headers.get("Content-Type", "application/json") != \
                    "application/json":
                data = request_body.encode("utf-8")
            else:
                self.request_headers.setdefault("Content-Type", "application/json")
                data = json.dumps(request_body).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - sent by http.client: http(s) only
            self._build_url(query_params), headers=self.request_headers, data=data, method=method)
        return Response(self._make_request(None, request, timeout=timeout))

    def _build_client(self, name=None):
        url_path = self._url_path + [name] if name else self._url_path
        return KeptAliveClient(host=self.host, version=self._version,
                               request_headers=self.request_headers, url_path=url_path,
                               append_slash=self.append_slash, timeout=self.timeout)

    def _make_request(self, opener, request, timeout=None):
        if _proxied(self.host):
            return super()._make_request(opener, request, timeout)
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
    """Close this thread's kept connections (tests start from none)."""
    pool = _local.__dict__.pop("connections", {})
    for kept in pool.values():
        kept.connection.close()
