"""Pooled, kept-alive HTTP connections to the email provider, through httpx.

One pool per process: pools are found by `os.getpid()`, so a pool created before a fork (an RQ
work horse, a gunicorn worker) is never used by the child, which would share its sockets with the
parent; the child builds its own on first use. A pool holds up to `size` slots (the send
concurrency: the provider calls one send job makes at once) and a request takes a free slot,
the most recently used one first (so the spare ones age out), for as long as it runs. A slot is
an `httpx.HTTPTransport` keeping at most one connection alive between requests (closed by httpx
after `IDLE_SECONDS` idle, or when the provider closed it: httpcore polls the socket, no
`select` limit on descriptor numbers). Any failure closes that connection, and the error reaches
the caller untouched, never retried here: a POST that may have left is not sent twice.

Why slots of one connection and not one transport with `max_connections=size`: httpcore 1.0's
pool matches requests to connections by scanning every connection for every waiting request, on
each request and each response (encode/httpcore#1035): at 100 connections that cost 4 ms of CPU
per request, about ten times the rest of the request. Why transports, not `httpx.Client`s: the
client's per-request work (merging URLs and headers, the cookie jar, which builds a
`urllib.request.Request` for every response; auth and redirect handling, none of which a
provider call uses) nearly doubled the CPU a request costs. Redirects are not followed, as
before.

With a proxy configured in the environment for the provider's URL (`http_proxy`, `https_proxy`,
`no_proxy`, read once), the pool's transports go through it.
"""

from __future__ import annotations

import functools
import os
import queue
import socket
import ssl
import threading
import urllib.request
from urllib.parse import urlsplit

import httpx

IDLE_SECONDS = 30.0  # under the idle time-outs of load balancers in front of APIs
# httpcore writes the headers and the body separately: without TCP_NODELAY (urllib3 sets it too)
# the body could wait for the provider to acknowledge the headers.
SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
_LIMITS = httpx.Limits(max_connections=1, max_keepalive_connections=1,
                       keepalive_expiry=IDLE_SECONDS)


@functools.cache
def _proxied(url: str) -> str | None:
    """The proxy the environment names for this URL, if any (read once per URL)."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return proxy
    return None


class Pool:
    """Up to `size` transports of one connection each, for one proxy (or none) in one process."""

    def __init__(self, size: int, proxy: str | None):
        self.size = size
        self.proxy = proxy
        self.created = 0
        self.closed = False
        self.free: queue.LifoQueue[httpx.HTTPTransport] = queue.LifoQueue()
        self.lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None

    def _transport(self) -> httpx.HTTPTransport:
        if self._ssl is None:  # one context for all slots: loading the CA bundle takes a while
            self._ssl = httpx.create_ssl_context()
        return httpx.HTTPTransport(verify=self._ssl, limits=_LIMITS, proxy=self.proxy,
                                   socket_options=SOCKET_OPTIONS)

    def acquire(self, timeout: float | None) -> httpx.HTTPTransport:
        try:
            return self.free.get_nowait()
        except queue.Empty:
            pass
        with self.lock:
            if self.created < self.size:
                self.created += 1
                try:
                    return self._transport()
                except BaseException:
                    self.created -= 1
                    raise
        try:
            return self.free.get(timeout=timeout)
        except queue.Empty:
            raise httpx.PoolTimeout(
                f"all {self.size} connections stayed busy for {timeout}s") from None

    def release(self, transport: httpx.HTTPTransport) -> None:
        with self.lock:
            keep = not self.closed and self.created <= self.size
            if not keep:
                self.created -= 1
        if keep:
            self.free.put(transport)
        else:
            transport.close()

    def close(self) -> None:
        with self.lock:
            self.closed = True
        while True:
            try:
                transport = self.free.get_nowait()
            except queue.Empty:
                return
            transport.close()


class _Process:
    """This process's pools, by proxy."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pools: dict[str | None, Pool] = {}


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
    """This process's pool for requests to `url`, allowed `size` connections."""
    here = _here()
    proxy = _proxied(url)
    found = here.pools.get(proxy)
    if found is None:
        with here.lock:
            found = here.pools.setdefault(proxy, Pool(size, proxy))
    if found.size != size:
        with found.lock:
            found.size = size  # spare connections close as they come back
    return found


@functools.lru_cache(maxsize=16)
def _timeouts(seconds: float) -> dict:
    return httpx.Timeout(seconds).as_dict()


@functools.lru_cache(maxsize=64)
def _parsed(url: str) -> httpx.URL:
    return httpx.URL(url)  # parsing it costs more than the rest of building the request


def post(url: str, *, json: dict, headers: httpx.Headers | dict, timeout: float,
         size: int) -> httpx.Response:
    """POST `json` to `url` on a pooled connection, `timeout` seconds for the connection, each
    write and read, and the wait for a free connection; the response is read in full. Raises
    httpx's errors (`httpx.PoolTimeout` when every connection stayed busy: nothing was sent)."""
    slots = pool(url, size)
    request = httpx.Request("POST", _parsed(url), json=json, headers=headers,
                            extensions={"timeout": _timeouts(timeout)})
    transport = slots.acquire(timeout)
    try:
        response = transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
    finally:
        slots.release(transport)
    return response


def stats() -> dict:
    """This process's pools: {proxy or "direct": {"size", "connections", "idle"}}."""
    here = _here()
    return {proxy or "direct": {"size": p.size, "connections": p.created,
                                "idle": p.free.qsize()}
            for proxy, p in list(here.pools.items())}


def close_all() -> None:
    """Close this process's pools (tests start from none)."""
    here = _here()
    with here.lock:
        pools, here.pools = list(here.pools.values()), {}
    for p in pools:
        p.close()
