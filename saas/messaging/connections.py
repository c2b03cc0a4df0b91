"""Pooled, kept-alive HTTP connections to the email provider, through urllib3.

One pool per process and provider origin: pools are found by `os.getpid()`, so a pool created
before a fork (an RQ work horse, a gunicorn worker) is never used by the child, which would share
its sockets with the parent; the child builds its own on first use. A pool is urllib3's
`HTTP(S)ConnectionPool` of `size` connections (the provider calls a worker makes at once:
SEND_CONCURRENCY, shared by the SEND_SWEEP_TENANTS tenants a sweep serves at once), `block=True`: a
request waits up to its timeout for a free connection, then fails with `EmptyPoolError` (nothing
was sent). urllib3 hands out the most recently used connection first (so the spare ones age out)
and, before reusing one, checks with `poll` that the provider has not closed it (no `select` limit
on descriptor numbers); a connection idle for more than `IDLE_SECONDS` is replaced too. Any
failure closes that connection, and the error reaches the caller untouched (`retries=False`), never
retried here: a POST that may have left is not sent twice. Redirects are not followed, as before.

Why urllib3 and not httpx: it drives http.client directly, where httpx/httpcore cost 1.5-2x its
CPU per request at 100 requests in flight. Measured with 100 threads against the fake provider,
CPU per send (helpers, JSON and HTTP): the hand-kept http.client connections before it 330 us,
httpx 540 us, urllib3 450 us; `bench_sends` about 4% faster than on httpx, 8% slower than before.
Writing a request in one `send` (`_Idle`) took it from 9 to 7 GIL hand-overs a call and, against
the fake provider answering in 100 ms with 50 threads, from about 1,000 to 900 us of CPU a call.

With a proxy configured in the environment for the provider's URL (`http_proxy`, `https_proxy`,
`no_proxy`, read once), the pool goes through it (urllib3's `ProxyManager`: a tunnel for https).
"""

from __future__ import annotations

import functools
import json as jsonlib
import os
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.ssl_ import create_urllib3_context

IDLE_SECONDS = 30.0  # under the idle time-outs of load balancers in front of APIs


class _Idle:
    """A connection that counts as closed once idle for `IDLE_SECONDS` (urllib3 then replaces
    it before use, as it does one the provider closed), and that writes a request with a body
    of bytes in one `send`: urllib3 sends the head, then the body, two writes (two packets with
    TCP_NODELAY, and each write lets go of the GIL, which 100 sending threads then fight over:
    about a fifth of a provider call's CPU)."""

    answered_at = 0.0
    _hold_head = False  # the next send is the request's head: keep it for the body's
    _head: bytes | None = None

    def request(self, method, url, body=None, headers=None, **kwargs):
        self._hold_head = isinstance(body, bytes) and bool(body)
        try:
            super().request(method, url, body=body, headers=headers, **kwargs)  # type: ignore[misc]
        finally:
            head, self._head, self._hold_head = self._head, None, False
            if head is not None:  # no body followed (never, with bytes): the head goes alone
                super().send(head)  # type: ignore[misc]

    def send(self, data):
        if self._hold_head and isinstance(data, bytes):
            self._hold_head, self._head = False, data
            return
        if self._head is not None:
            data, self._head = self._head + data, None
        super().send(data)  # type: ignore[misc]

    @property
    def is_connected(self) -> bool:
        return (super().is_connected  # type: ignore[misc]
                and time.monotonic() - self.answered_at < IDLE_SECONDS)

    def getresponse(self, *args, **kwargs):
        response = super().getresponse(*args, **kwargs)  # type: ignore[misc]
        self.answered_at = time.monotonic()  # the body is read by then (preload_content)
        return response


class _Connection(_Idle, HTTPConnection):
    pass


class _TLSConnection(_Idle, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _Connection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


_POOL_CLASSES = {"http": _HTTPPool, "https": _HTTPSPool}


@functools.cache
def _proxied(url: str) -> str | None:
    """The proxy the environment names for this URL, if any (read once per URL)."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return proxy
    return None


@functools.lru_cache(maxsize=64)
def _split(url: str) -> tuple[str, str]:
    """(origin, path and query) of a URL."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{parts.netloc}", path


class Pool:
    """`size` connections to one origin, through one proxy (or none), in one process."""

    def __init__(self, origin: str, size: int, proxy: str | None):
        self.origin = origin
        self.size = size
        self.proxy = proxy
        settings: dict = {"maxsize": size, "block": True, "retries": False}
        if origin.startswith("https:"):  # one context for all connections: loading the CA
            settings["ssl_context"] = context = create_urllib3_context()  # bundle takes a while
            context.load_default_certs()
        self.manager: urllib3.ProxyManager | None = None
        if proxy:
            auth = urllib3.util.parse_url(proxy).auth
            self.manager = urllib3.ProxyManager(
                proxy, num_pools=1, proxy_headers=urllib3.make_headers(proxy_basic_auth=auth)
                if auth else None, **settings)
            self.manager.pool_classes_by_scheme = _POOL_CLASSES
            self.http = self.manager.connection_from_url(origin)
        else:
            url = urllib3.util.parse_url(origin)
            if url.scheme not in _POOL_CLASSES:
                raise urllib3.exceptions.URLSchemeUnknown(url.scheme)
            self.http = _POOL_CLASSES[url.scheme](url.host, url.port, **settings)

    def urlopen(self, url: str, path: str, body: bytes, headers: dict, timeout: float):
        kwargs = {"body": body, "headers": headers, "redirect": False, "retries": False,
                  "timeout": _timeouts(timeout), "pool_timeout": timeout}
        if self.manager is not None:  # the proxy's headers, the absolute URL for plain http
            return self.manager.urlopen("POST", url, **kwargs)
        return self.http.urlopen("POST", path, assert_same_host=False, **kwargs)

    def idle(self) -> int:
        queue = self.http.pool
        return sum(1 for c in list(queue.queue if queue else []) if c is not None and c.sock)

    def close(self) -> None:
        if self.manager is not None:
            self.manager.clear()
        else:
            self.http.close()


class _Process:
    """This process's pools, by origin and proxy."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pools: dict[tuple[str, str | None], Pool] = {}


_processes: dict[int, _Process] = {}


def _here() -> _Process:
    pid = os.getpid()
    here = _processes.get(pid)
    if here is None:
        for inherited in [p for p in _processes if p != pid]:
            _processes.pop(inherited, None)  # the parent's: never used (nor closed) here
        here = _processes.setdefault(pid, _Process())  # a lock made in this process
    return here


def pool(url: str, size: int) -> Pool:
    """This process's pool for requests to `url`, of `size` connections (a pool of another
    size is replaced: its connections close as they come back)."""
    here = _here()
    key = (_split(url)[0], _proxied(url))
    found = here.pools.get(key)
    if found is None or found.size != size:
        with here.lock:
            found = here.pools.get(key)
            if found is None or found.size != size:
                old, found = found, Pool(key[0], size, key[1])
                here.pools[key] = found
                if old is not None:
                    old.close()
    return found


@functools.lru_cache(maxsize=16)
def _timeouts(seconds: float) -> urllib3.Timeout:
    return urllib3.Timeout(connect=seconds, read=seconds)


def post(url: str, *, json: dict, headers: dict, timeout: float,
         size: int) -> urllib3.BaseHTTPResponse:
    """POST `json` to `url` on a pooled connection: `timeout` seconds to connect, for each write
    and read, and to wait for a free connection; the response is read in full. Raises urllib3's
    errors as they come (`urllib3.exceptions.EmptyPoolError` when every connection stayed busy:
    nothing was sent)."""
    body = jsonlib.dumps(json).encode("utf-8")  # as python-http-client (SendGrid's) encodes it
    return pool(url, size).urlopen(url, _split(url)[1], body, headers, timeout)


def stats() -> dict:
    """This process's pools: {origin: {"proxy", "size", "connections" (opened so far), "idle"
    (open, waiting for a request)}}."""
    return {p.origin: {"proxy": p.proxy, "size": p.size, "connections": p.http.num_connections,
                       "idle": p.idle()}
            for p in list(_here().pools.values())}


def close_all() -> None:
    """Close this process's pools (tests start from none)."""
    here = _here()
    with here.lock:
        pools, here.pools = list(here.pools.values()), {}
    for p in pools:
        p.close()
