"""A real HTTP receiver (a thread) that keeps every delivery and answers what the test says,
and a tenant with an admin, a seller and leads to work in."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from standardwebhooks.webhooks import Webhook

from saas.auth.models import Role
from saas.extensions import db
from saas.tenancy import tenant_context


class Receiver:
    def __init__(self):
        self.requests: list[SimpleNamespace] = []
        self.answers: list[int] = []  # status codes to answer, in order; then 200
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.requests.append(SimpleNamespace(
                        path=self.path, headers=dict(self.headers.items()), body=body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver says no")

            def log_message(self, *args):
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def verified(self, secret: str) -> list[dict]:
        """Every request's payload, each verified with the standardwebhooks verifier."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.requests]


@pytest.fixture
def receiver():
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture
def world(app, make_tenant, make_user, add_records):
    tenant = make_tenant("acme")
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], name="Ada Admin",
                      email="ada@acme.example")
    seller = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")

    @contextmanager
    def inside():
        with app.app_context(), tenant_context(tenant.id):
            yield
            db.session.rollback()
            db.session.remove()

    return SimpleNamespace(tenant=tenant, admin=admin, seller=seller, inside=inside,
                           add=lambda n=1, **kw: add_records(tenant, n, owner_id=seller.id, **kw))


@contextmanager
def setting(app, name, value):
    before = app.config[name]
    app.config[name] = value
    try:
        yield
    finally:
        app.config[name] = before
