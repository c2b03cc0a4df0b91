"""No test reaches a real provider: name resolution of their hosts fails, and so does any
urllib3 request to them (SendGrid's pool, and requests under Twilio's client; also one through a
proxy, which resolves only the proxy's name); each attempt is recorded."""

from __future__ import annotations

import socket

from urllib3.connectionpool import HTTPConnectionPool
from urllib3.util import parse_url

REAL_PROVIDER_HOSTS = ("sendgrid.com", "sendgrid.net", "twilio.com")


def _real(name: str) -> bool:
    name = name.lower().rstrip(".")
    return any(name == h or name.endswith("." + h) for h in REAL_PROVIDER_HOSTS)


class ProviderGuard:
    def __init__(self):
        self.reached: list[str] = []

    def _refuse(self, name: str) -> str:
        self.reached.append(name)
        return f"tests may not reach the real provider host {name}"

    def install(self, monkeypatch) -> ProviderGuard:
        real_getaddrinfo = socket.getaddrinfo
        real_urlopen = HTTPConnectionPool.urlopen

        def guarded(host, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else str(host or "")
            if _real(name):
                raise OSError(self._refuse(name))
            return real_getaddrinfo(host, *args, **kwargs)

        def guarded_urlopen(pool, method, url, *args, **kwargs):
            # The pool's host is the provider's, or (plain http through a proxy) the proxy's,
            # the provider's then being in the absolute URL. Refused as a failed connection is
            # (an OSError: requests makes it a ConnectionError).
            name = parse_url(url).host or pool.host or ""
            if _real(name):
                raise OSError(self._refuse(name))
            return real_urlopen(pool, method, url, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", guarded)
        monkeypatch.setattr(HTTPConnectionPool, "urlopen", guarded_urlopen)
        return self
