"""No test reaches a real provider: name resolution of their hosts fails, and is recorded."""

from __future__ import annotations

import socket

REAL_PROVIDER_HOSTS = ("sendgrid.com", "sendgrid.net", "twilio.com")


class ProviderGuard:
    def __init__(self):
        self.reached: list[str] = []

    def install(self, monkeypatch) -> ProviderGuard:
        real_getaddrinfo = socket.getaddrinfo

        def guarded(host, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else str(host or "")
            if any(name == h or name.endswith("." + h) for h in REAL_PROVIDER_HOSTS):
                self.reached.append(name)
                raise OSError(f"tests may not reach the real provider host {name}")
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", guarded)
        return self
