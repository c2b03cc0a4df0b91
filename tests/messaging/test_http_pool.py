"""SendGrid over this process's pooled urllib3 connections (saas/messaging/connections.py),
against the fake provider server: connections reused across sends and batches, a forked child
with a pool of its own, what each failure comes to (a timeout after the provider took the email
is uncertain; no free connection in time is a retry, nothing sent), a 429's Retry-After honoured
by the engine, descriptors past 1,024, the request the sendgrid library makes, and the guard
refusing urllib3 traffic to the real provider, also through a proxy."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3
from sqlalchemy import select

from saas.engine import clock
from saas.engine.models import StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging import connections, providers
from saas.messaging.batch import send_many
from saas.messaging.compose import Outgoing
from saas.messaging.config import config_for
from saas.messaging.delivery import send_email
from saas.tenancy import tenant_context
from tests.messaging import builders
from tests.messaging.fake_providers import FakeProviders
from tests.provider_guard import ProviderGuard


@pytest.fixture(autouse=True)
def fresh_pools():
    connections.close_all()
    yield
    connections.close_all()


def _send(app, tenant_id: int, step_run_id: int, to: str | None = None):
    with app.app_context():
        return send_email(tenant_id, to=to or f"lead{step_run_id}@example.com", subject="Hi",
                          html="<p>Hello</p>", text="Hello", step_run_id=step_run_id)


def _messages(first: int, count: int) -> list[Outgoing]:
    return [Outgoing(step_run_id=n, channel="email", to=f"lead{n}@example.com", subject="Hi",
                     html="<p>Hello</p>", text="Hello", from_address="hello@mailco.example",
                     custom_args={"step_run_id": str(n)})
            for n in range(first, first + count)]


# -- reuse ---------------------------------------------------------------------------------------

def test_batches_share_the_pools_connections(app, sendgrid_tenant, fake, monkeypatch):
    monkeypatch.setitem(app.config, "SEND_CONCURRENCY", 4)
    monkeypatch.setitem(app.config, "SEND_SWEEP_TENANTS", 1)  # the pool: 4 x 1 connections
    monkeypatch.setattr(fake, "latency", 0.02)  # the calls overlap, as with a real API
    with app.app_context():
        config = config_for(sendgrid_tenant.id)
        first, untried = send_many(config, _messages(1, 40))
        opened = fake.connection_count
        second, _ = send_many(config, _messages(41, 40))
        pools = connections.stats()
    assert untried == [] and {r.status for r in [*first.values(), *second.values()]} == {"sent"}
    assert 1 <= opened <= 4  # 40 emails, at most the concurrency's connections
    assert fake.connection_count == opened  # the second batch opened none
    assert pools == {fake.url: {"proxy": None, "size": 4, "connections": opened, "idle": opened}}
    assert dict(fake.per_step_run) == {str(n): 1 for n in range(1, 81)}


def test_one_connection_for_emails_sent_one_after_another(app, sendgrid_tenant, fake):
    results = [_send(app, sendgrid_tenant.id, n) for n in range(1, 11)]
    assert [r.status for r in results] == ["sent"] * 10
    assert fake.connection_count == 1


class _CountingSocket:
    """A connected socket that notes each write (the standard library's socket underneath)."""

    def __init__(self, sock):
        self.sock, self.writes = sock, []

    def sendall(self, data):
        self.writes.append(bytes(data))
        return self.sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def test_a_request_goes_out_in_one_write(app, sendgrid_tenant, fake):
    assert _send(app, sendgrid_tenant.id, 1).status == "sent"
    [kept] = [c for c in connections._here().pools[(fake.url, None)].http.pool.queue if c]
    kept.sock = counting = _CountingSocket(kept.sock)
    assert _send(app, sendgrid_tenant.id, 2).status == "sent"
    assert fake.connection_count == 1  # the same connection, written once: head and body
    [write] = counting.writes
    head, _, body = write.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v3/mail/send HTTP/1.1\r\n")
    assert json.loads(body)["custom_args"]["step_run_id"] == "2"
    assert dict(fake.per_step_run) == {"1": 1, "2": 1}


def test_a_connection_idle_too_long_is_replaced(app, sendgrid_tenant, fake, monkeypatch):
    assert _send(app, sendgrid_tenant.id, 1).status == "sent"
    assert _send(app, sendgrid_tenant.id, 2).status == "sent"
    assert fake.connection_count == 1
    monkeypatch.setattr(connections, "IDLE_SECONDS", 0.05)
    time.sleep(0.1)
    assert _send(app, sendgrid_tenant.id, 3).status == "sent"
    assert fake.connection_count == 2  # a new one, before the provider's idle timeout bites


# -- fork ----------------------------------------------------------------------------------------

def test_a_forked_child_builds_its_own_pool(app, fake):
    payload = providers.build_mail(
        to="lead@example.com", from_address="hello@example.com", from_name="", subject="Hi",
        html="", text="Hi", reply_to=None, headers=None, custom_args=None, categories=None)

    def send():
        return providers.sendgrid_send(api_key="SG.test-key", base_url=fake.url, timeout=2,
                                       payload=payload).status

    assert send() == "sent" and fake.connection_count == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send, say what it saw, leave without running any teardown
        try:
            os.close(read)
            status = send()
            os.write(write, json.dumps({"status": status, "pids": list(connections._processes),
                                        "pid": os.getpid()}).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert child["status"] == "sent"
    assert child["pids"] == [child["pid"]]  # the parent's pool left behind, unused
    assert fake.connection_count == 2  # the child's own connection
    assert send() == "sent"  # the parent's connection was neither used nor closed by the child
    assert fake.connection_count == 2


# -- what each answer comes to -------------------------------------------------------------------

@pytest.mark.parametrize(("failure", "status", "accepted"), [
    ("timeout", "unknown", 1),  # the provider took it, answered too late: uncertain
    ("drop", "unknown", 1),     # took it, closed without answering
    ("500", "unknown", 0),
    ("429", "retry", 0),
])
def test_each_failure_is_classified(app, sendgrid_tenant, fake, failure, status, accepted):
    fake.fail_next(failure)
    result = _send(app, sendgrid_tenant.id, 1)
    assert result.status == status, result.error
    assert fake.per_step_run.get("1", 0) == accepted
    assert _send(app, sendgrid_tenant.id, 2).status == "sent"  # and the next one goes


def test_a_timeout_after_the_request_left_is_uncertain_not_resent(app, sendgrid_tenant, fake):
    fake.fail_next("timeout")
    started = time.monotonic()
    result = _send(app, sendgrid_tenant.id, 7)
    assert result.status == "unknown" and result.error.startswith("timeout after 0.5s")
    assert time.monotonic() - started < 0.95  # gave up at the timeout, not at the answer
    assert fake.per_step_run == {"7": 1}  # it did reach the provider, once
    assert [r["step_run_id"] for r in fake.requests] == ["7"]  # and was not sent again


def test_the_request_is_the_one_the_sendgrid_library_makes(app, sendgrid_tenant, fake):
    from sendgrid import SendGridAPIClient, __version__
    from sendgrid.helpers.mail import Category, CustomArg, From, Header, Mail, ReplyTo, To

    assert _send(app, sendgrid_tenant.id, 1).status == "sent"
    [request] = fake.requests
    assert request["auth"] == "Bearer SG.test-key"
    assert request["headers"]["User-Agent"] == f"sendgrid/{__version__};python"
    assert request["headers"]["Accept"] == "application/json"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"]["personalizations"] == [{"to": [{"email": "lead1@example.com"}]}]
    assert request["body"]["content"] == [{"type": "text/plain", "value": "Hello"},
                                          {"type": "text/html", "value": "<p>Hello</p>"}]

    # Every field, against the library's own objects and client.
    payload = providers.build_mail(
        to="Ann Lee <ann@example.com>", from_address="hello@example.com", from_name="Hello Co",
        subject="Hi", html="<p>Hello</p>", text="Hello", reply_to="Replies <r@example.com>",
        headers={"X-A": "1", "X-B": "2"}, custom_args={"k1": "v1", "k2": "v2"},
        categories=["first", "second"])
    result = providers.sendgrid_send(api_key="SG.other-key", base_url=fake.url, timeout=2,
                                     payload=payload)
    assert result.status == "sent", result.error
    mail = Mail(from_email=From("hello@example.com", "Hello Co"),
                to_emails=To("ann@example.com", "Ann Lee"), subject="Hi",
                plain_text_content="Hello", html_content="<p>Hello</p>")
    mail.header = [Header("X-A", "1"), Header("X-B", "2")]
    mail.custom_arg = [CustomArg("k1", "v1"), CustomArg("k2", "v2")]
    mail.reply_to = ReplyTo("r@example.com", "Replies")
    mail.category = [Category("second"), Category("first")]  # the library puts each first
    client = SendGridAPIClient("SG.other-key", host=fake.url).client
    sent = fake.requests[-1]
    assert sent["body"] == mail.get()
    assert sent["body"]["categories"] == ["first", "second"]  # the caller's order
    assert {k: sent["headers"].get(k.title()) for k in client.request_headers} == \
        client.request_headers  # Authorization, User-Agent, Accept


def test_no_free_connection_in_time_is_retried_nothing_sent(app, sendgrid_tenant, fake,
                                                            monkeypatch):
    monkeypatch.setitem(app.config, "SEND_CONCURRENCY", 1)
    monkeypatch.setitem(app.config, "SEND_SWEEP_TENANTS", 1)  # the pool: one connection
    monkeypatch.setattr(fake, "latency", 0.6)  # the one connection stays busy that long

    def send(step_run_id: int, timeout: float):
        payload = providers.build_mail(
            to=f"lead{step_run_id}@example.com", from_address="hello@example.com",
            from_name="", subject="Hi", html="", text="Hi", reply_to=None, headers=None,
            custom_args={"step_run_id": str(step_run_id)}, categories=None)
        with app.app_context():
            return providers.sendgrid_send(api_key="SG.test-key", base_url=fake.url,
                                           timeout=timeout, payload=payload)

    results = {}
    first = threading.Thread(target=lambda: results.setdefault(1, send(1, 2.0)))
    first.start()
    deadline = time.monotonic() + 2
    while fake.connection_count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the first holds the connection
    started = time.monotonic()
    waited = send(2, 0.2)
    took = time.monotonic() - started
    first.join()
    assert waited.status == "retry", waited.error
    assert waited.error == "no free connection: all 1 connections stayed busy for 0.2s"
    assert took < 0.5  # gave up after the timeout, not when the connection came back
    assert results[1].status == "sent"
    assert dict(fake.per_step_run) == {"1": 1}  # the second never left


def test_a_body_the_library_refuses_fails_without_a_request(app, sendgrid_tenant, fake):
    with app.app_context():
        result = send_email(sendgrid_tenant.id, to="ann@example.com", subject="Key",
                            html="", text="SG.abcdef.ghijkl is our key", step_run_id=1)
    assert result.status == "failed" and "API key" in result.error
    assert fake.requests == []


def test_refused_and_rejected(app, sendgrid_tenant, fake):
    assert _send(app, sendgrid_tenant.id, 1, to="nobody@example.invalid").status == "failed"
    app.config["SENDGRID_BASE_URL"] = fake.dead_url()
    refused = _send(app, sendgrid_tenant.id, 2)
    assert refused.status == "retry" and "refused" in refused.error


# -- 429 with Retry-After ------------------------------------------------------------------------

class _RateLimited(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"errors": [{"message": "too many requests"}]}'
        self.send_response(429)
        self.send_header("Retry-After", "120")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def rate_limited():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RateLimited)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_429_waits_for_retry_after(app, sendgrid_tenant, fake, rate_limited):
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        template = builders.email_template()
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}},
                                 {"type": "task", "name": "Call them"}])
        [run] = builders.connect([builders.lead("ann@example.com")], seq)
        db.session.commit()
        run_id = run.id
    app.config["SENDGRID_BASE_URL"] = rate_limited
    assert _send(app, sendgrid_tenant.id, 1).retry_after == 120.0
    with app.app_context():
        run_tick(budget_seconds=30)
        now = clock.now()
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        waiting = db.session.get(StepRun, run_id)
        assert waiting.status == "pending" and "429" in waiting.error
        assert waiting.due_at >= now + timedelta(seconds=115)  # Retry-After, honoured
    app.config["SENDGRID_BASE_URL"] = fake.url
    with app.app_context():
        run_tick(budget_seconds=30)  # not due yet
        assert fake.emails() == []
        clock.move_forward(timedelta(seconds=121))
        run_tick(budget_seconds=30)
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        status = db.session.execute(select(StepRun.status).where(StepRun.id == run_id)).scalar()
    assert status == "sent" and dict(fake.per_step_run) == {str(run_id): 1}


# -- descriptors past 1,024 (select() refuses them) ----------------------------------------------

@pytest.fixture
def many_descriptors():
    """fill(): every descriptor under 1,100 taken (by pipes; at least 1,100 of them), so the next
    socket gets a number above. Returns how many are open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {wanted}")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    pipes: list[int] = []

    def fill() -> int:
        while True:  # a new pipe each call: one numbered low means a descriptor freed since
            pipe = os.pipe()
            pipes.extend(pipe)
            if len(pipes) >= 1100 and min(pipe) >= 1100:
                return len(pipes)

    try:
        yield fill
    finally:
        for fd in pipes:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_sockets_numbered_past_1024_work(app, sendgrid_tenant, fake, many_descriptors,
                                          monkeypatch):
    opened: list[int] = []
    create_connection = urllib3.util.connection.create_connection

    def numbered_high(*args, **kwargs):
        many_descriptors()  # a descriptor another thread closed meanwhile is taken again
        sock = create_connection(*args, **kwargs)
        opened.append(sock.fileno())
        return sock

    monkeypatch.setattr(urllib3.util.connection, "create_connection", numbered_high)
    assert many_descriptors() >= 1100
    assert _send(app, sendgrid_tenant.id, 1).status == "sent"
    assert _send(app, sendgrid_tenant.id, 2).status == "sent"  # kept, checked alive: reused
    fake.close_connections()
    time.sleep(0.1)  # the end-of-file reaches the client's socket
    replaced = _send(app, sendgrid_tenant.id, 3)  # seen closed, replaced, not failed
    assert replaced.status == "sent", replaced.error
    assert len(opened) == 2 and min(opened) > 1024, opened
    assert fake.connection_count == 2


# -- the guard -----------------------------------------------------------------------------------

def _real_payload():
    return providers.build_mail(
        to="lead@example.com", from_address="hello@example.com", from_name="", subject="Hi",
        html="", text="Hi", reply_to=None, headers=None, custom_args=None, categories=None)


@pytest.fixture
def dead_proxy(monkeypatch):
    """A proxy where nothing listens, for http and https: only its name would be resolved."""
    proxy = FakeProviders.dead_url()
    for name in ("http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    connections._proxied.cache_clear()
    yield proxy
    connections._proxied.cache_clear()


@pytest.mark.parametrize("base_url", ["https://api.sendgrid.com", "http://api.sendgrid.com"])
def test_urllib3_to_a_real_provider_is_refused_even_through_a_proxy(monkeypatch, dead_proxy,
                                                                    base_url):
    guard = ProviderGuard().install(monkeypatch)  # in front of the suite's own guard
    result = providers.sendgrid_send(api_key="SG.real-looking", base_url=base_url, timeout=2,
                                     payload=_real_payload())
    # https: a tunnel through the proxy; http: the proxy is asked for the absolute URL
    assert [p["proxy"] for p in connections.stats().values()] == [dead_proxy]
    with pytest.raises(OSError, match="real provider"):
        urllib3.PoolManager().request("GET", "https://api.twilio.com/2010-04-01")
    with pytest.raises(OSError, match="real provider"):
        urllib3.ProxyManager(dead_proxy).request("GET", "http://api.twilio.com/2010-04-01")
    assert result.status == "unknown" and "real provider" in result.error
    assert guard.reached == ["api.sendgrid.com", "api.twilio.com", "api.twilio.com"]
