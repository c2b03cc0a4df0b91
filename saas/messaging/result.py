"""What a provider call came to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SendResult:
    """`sent`: accepted (message_id set); `retry`: not accepted, safe to try again later
    (429, refused connection; `retry_after` seconds when the provider said); `unknown`: the request
    may have reached the provider (timeout, 5xx): never resend blindly; `failed`: permanent, `error`
    says why."""

    status: str
    provider: str
    message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "sent"
