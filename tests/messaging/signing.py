"""Signing webhook requests as the providers do, with keys made in the test."""

from __future__ import annotations

import base64
import json
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator


class SendGridSigner:
    """An ECDSA P-256 key pair; `public_key` is what SendGrid shows (base64 DER)."""

    def __init__(self):
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key = base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: str) -> str:
        signature = self.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {"X-Twilio-Email-Event-Webhook-Signature": self.sign(body, stamp),
                "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                "Content-Type": "application/json"}


def event_body(events: list[dict]) -> bytes:
    return json.dumps(events).encode()


def twilio_signature(token: str, url: str, form: dict) -> str:
    return RequestValidator(token).compute_signature(url, form)
