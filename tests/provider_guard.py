"""No test reaches a real provider: name resolution of their hosts fails, and so does any httpx
request to them (also one through a proxy, which resolves only the proxy's name); each attempt
is recorded."""

from __future__ import annotations

import socket

import httpx

REAL_PROVIDER_HOSTS = ("sendgrid.com", "sendgrid.net", "twilio.com")


def _real(name: str) -> bool:
    return any(name == h or name.endswith("." + h) for h in REAL_PROVIDER_HOSTS)


class ProviderGuard:
    def __init__(self):
        self.reached: list[str] = []

    def _refuse(self, name: str) -> str:
        self.reached.append(name)
        return f"tests may not reach the real provider host {name}"

    def install(self, monkeypatch) -> ProviderGuard:
        real_getaddrinfo = socket.getaddrinfo
        real_handle_request = httpx.HTTPTransport.handle_request

        def guarded(host, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else str(host or "")
            if _real(name):
                raise OSError(self._refuse(name))
            return real_getaddrinfo(host, *args, **kwargs)

        def guarded_request(transport, request):
            if _real(request.url.host):
                raise httpx.ConnectError(self._refuse(request.url.host), request=request)
            return real_handle_request(transport, request)

        monkeypatch.setattr(socket, "getaddrinfo", guarded)
        monkeypatch.setattr(httpx.HTTPTransport, "handle_request", guarded_request)
        return self
