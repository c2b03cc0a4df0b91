"""A local HTTP server that speaks SendGrid's `POST /v3/mail/send` and Twilio's Messages API
(`POST /2010-04-01/Accounts/<sid>/Messages.json`), records what it received, and fails on demand.

Failures are queued (`fail_next("429", n)`) or drawn at random (`set_failure_rate(0.3, kinds)`):

- "429": `429 Too Many Requests` with `X-RateLimit-Reset` (epoch seconds) — not accepted;
- "500": `500` — not accepted;
- "timeout": the message IS accepted (counted) but the answer comes after `slow_seconds`, past
  the client's timeout, as when a provider is slow;
- "drop": the connection is closed without an answer after the message was accepted.

A refused connection needs nothing listening: `dead_url()` is a port that refuses.

Every POST can be answered after `latency` seconds (0 by default), as a real API takes its time.

Run alone (another process, for the benchmark):
`python -m tests.messaging.fake_providers PORT [LATENCY_SECONDS]`;
`GET /_fake/stats` answers {"requests", "accepted", "per_step_run": {...}}.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import socketserver
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from urllib.parse import parse_qs

SENDGRID_PATH = "/v3/mail/send"
TWILIO_PREFIX = "/2010-04-01/Accounts/"


class _Server(socketserver.ThreadingTCPServer):
    """Threaded, with the threads kept in a pool (a thread per connection costs more CPU than
    the request itself, and clients like urllib open one connection per request)."""

    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=256, thread_name_prefix="fake-provider")

    def process_request(self, request, client_address):
        self.pool.submit(self.process_request_thread, request, client_address)

    def server_close(self):
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


class FakeProviders:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, record_bodies: bool = True):
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every request (accepted or not)
        self.accepted: list[dict] = []  # messages the provider took
        self.per_step_run: Counter = Counter()
        self.failures: deque[str] = deque()
        self.rate = 0.0
        self.kinds: tuple[str, ...] = ("429", "500", "timeout")
        self.random = random.Random(7)  # noqa: S311 - a test's failure pattern, not security
        self.slow_seconds = 1.0
        self.latency = 0.0  # seconds before each POST is answered
        # One account's trouble (its "Authorization" header): seconds before its answers, and a
        # failure every one of its requests gets ("500", "429", "timeout"); others are served.
        self.slow_accounts: dict[str, float] = {}
        self.failing_accounts: dict[str, str] = {}
        self.reset_in = 0.2
        self.record_bodies = record_bodies
        self.request_count = 0
        self.ids = itertools.count(1)
        self.accepted_count = 0
        self.connection_count = 0  # connections opened by clients
        self.sockets: set[socket.socket] = set()  # connections open now
        self.server = _Server((host, port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- control -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProviders:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.close_connections()  # a client's kept-alive connection must not outlive the tests
        self.server.server_close()
        self.thread.join(timeout=5)

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([kind] * times)

    def set_failure_rate(self, rate: float, kinds=("429", "500", "timeout")) -> None:
        self.rate, self.kinds = rate, tuple(kinds)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.accepted.clear()
            self.per_step_run.clear()
            self.failures.clear()
            self.rate = 0.0
            self.request_count = self.accepted_count = self.connection_count = 0
            self.slow_accounts.clear()
            self.failing_accounts.clear()

    def close_connections(self) -> None:
        """Close every open client connection, as a provider does with idle ones."""
        with self.lock:
            sockets = list(self.sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def dead_url() -> str:
        """A local address where nothing listens: connections are refused."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        return f"http://127.0.0.1:{port}"

    def emails(self) -> list[dict]:
        return [r for r in self.accepted if r["api"] == "sendgrid"]

    def texts(self) -> list[dict]:
        return [r for r in self.accepted if r["api"] == "twilio"]

    # -- the handler ---------------------------------------------------------------------------
    def _next_failure(self) -> str | None:
        with self.lock:
            if self.failures:
                return self.failures.popleft()
        if self.rate and self.random.random() < self.rate:
            return self.random.choice(self.kinds)
        return None

    def _record(self, entry: dict, accepted: bool, step_run: str | None) -> None:
        entry["received_at"] = time.monotonic()  # when the provider got it (this process)
        with self.lock:
            self.request_count += 1
            if self.record_bodies:
                self.requests.append(entry)
            if accepted:
                self.accepted_count += 1
                if self.record_bodies:
                    self.accepted.append(entry)
                if step_run:
                    self.per_step_run[step_run] += 1

    def _handler(self):
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            """HTTP/1.1 with keep-alive, parsed by hand (lighter than http.server: on a small
            machine the fake provider should not eat the CPU the code under test needs)."""

            def handle(self):
                with fake.lock:
                    fake.connection_count += 1
                    fake.sockets.add(self.request)
                try:
                    self._handle()
                finally:
                    with fake.lock:
                        fake.sockets.discard(self.request)

            def _handle(self):
                self.close_connection = False
                while not self.close_connection:
                    line = self.rfile.readline(65537)
                    if not line or not line.strip():
                        return
                    try:
                        self.command, self.path, version = line.decode("latin-1").split()
                    except ValueError:
                        return
                    self.headers = {}
                    while True:
                        header = self.rfile.readline(65537)
                        if header in (b"\r\n", b"\n", b""):
                            break
                        name, _, value = header.decode("latin-1").partition(":")
                        self.headers[name.strip().title()] = value.strip()
                    connection = self.headers.get("Connection", "").lower()
                    self.close_connection = connection == "close" or version == "HTTP/1.0"
                    length = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(length) if length else b""
                    if self.command == "GET":
                        self._get()
                    elif self.command == "POST":
                        self._post(raw)
                    else:
                        self._answer(405, {"errors": [{"message": "method not allowed"}]})

            def _send(self, status: int, body: bytes, headers: dict | None = None,
                      content_type: str = "application/json"):
                lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
                         f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
                lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
                if self.close_connection:
                    lines.append("Connection: close")
                self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

            def _answer(self, status: int, body: dict, headers: dict | None = None):
                self._send(status, json.dumps(body).encode(), headers)

            def _get(self):
                if self.path == "/_fake/stats":
                    with fake.lock:
                        stats = {"requests": fake.request_count,
                                 "accepted": fake.accepted_count,
                                 "per_step_run": dict(fake.per_step_run)}
                    return self._answer(200, stats)
                return self._answer(404, {"errors": [{"message": "not found"}]})

            def _post(self, raw: bytes):
                if fake.latency:
                    time.sleep(fake.latency)
                if self.path == SENDGRID_PATH:
                    return self._sendgrid(raw)
                if self.path.startswith(TWILIO_PREFIX) and self.path.endswith("/Messages.json"):
                    return self._twilio(raw)
                return self._answer(404, {"errors": [{"message": "not found"}]})

            def _fail_before(self, failure: str | None) -> bool:
                if failure == "429":
                    reset = int(time.time() + fake.reset_in) + 1
                    self._answer(429, {"errors": [{"message": "too many requests"}]},
                                 {"X-RateLimit-Reset": str(reset), "X-RateLimit-Limit": "600",
                                  "X-RateLimit-Remaining": "0"})
                    return True
                if failure == "500":
                    self._answer(500, {"errors": [{"message": "internal error"}]})
                    return True
                return False

            def _after_accept(self, failure: str | None) -> bool:
                if failure == "timeout":
                    time.sleep(fake.slow_seconds)
                    return False  # answers anyway, too late for the client
                if failure == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return True
                return False

            def _sendgrid(self, raw: bytes):
                failure = fake._next_failure()
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._answer(400, {"errors": [{"message": "invalid JSON"}]})
                auth = self.headers.get("Authorization", "")
                if auth in fake.slow_accounts:
                    time.sleep(fake.slow_accounts[auth])
                failure = fake.failing_accounts.get(auth) or failure
                step_run = None
                for personalization in body.get("personalizations", []):
                    step_run = (personalization.get("custom_args") or {}).get("step_run_id")
                step_run = step_run or (body.get("custom_args") or {}).get("step_run_id")
                to = [t["email"] for p in body.get("personalizations", [])
                      for t in p.get("to", [])]
                entry = {"api": "sendgrid", "body": body, "auth": auth, "to": to,
                         "step_run_id": step_run, "headers": dict(self.headers)}
                if self._fail_before(failure):
                    fake._record({**entry, "failure": failure}, False, None)
                    return None
                if not auth.startswith("Bearer ") or len(auth) < 10:
                    fake._record(entry, False, None)
                    return self._answer(401, {"errors": [{"message": "authorization required"}]})
                if any(address.endswith(".invalid") for address in to):
                    fake._record(entry, False, None)
                    return self._answer(400, {"errors": [
                        {"message": "Does not contain a valid address.",
                         "field": "personalizations.0.to.0.email"}]})
                message_id = f"sg{next(fake.ids)}x{time.time_ns() % 10**9}"
                entry["message_id"] = message_id
                if failure:
                    entry["failure"] = failure  # accepted, then answered late or not at all
                fake._record(entry, True, step_run)
                if self._after_accept(failure):
                    return None
                self._send(202, b"", {"X-Message-Id": message_id})
                return None

            def _twilio(self, raw: bytes):
                failure = fake._next_failure()
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                sid = self.path[len(TWILIO_PREFIX):].split("/")[0]
                entry = {"api": "twilio", "form": form, "account": sid, "to": [form.get("To")],
                         "auth": self.headers.get("Authorization", ""),
                         "step_run_id": None, "headers": dict(self.headers)}
                if self._fail_before(failure):
                    fake._record({**entry, "failure": failure}, False, None)
                    return None
                if not (form.get("To") or "").startswith("+"):
                    fake._record(entry, False, None)
                    return self._answer(400, {"code": 21211, "message": "Invalid 'To' Phone "
                                              "Number", "status": 400, "more_info": ""})
                message_sid = f"SM{next(fake.ids):032x}"
                entry["message_id"] = message_sid
                if failure:
                    entry["failure"] = failure
                fake._record(entry, True, None)
                if self._after_accept(failure):
                    return None
                return self._answer(201, {
                    "sid": message_sid, "account_sid": sid, "to": form.get("To"),
                    "from": form.get("From"), "body": form.get("Body"), "status": "queued",
                    "num_segments": "1", "direction": "outbound-api",
                    "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                                  time.gmtime()),
                    "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json"})

        return Handler


def main(argv: list[str]) -> None:
    port = int(argv[1]) if len(argv) > 1 else 0
    fake = FakeProviders(port=port, record_bodies=False)
    fake.latency = float(argv[2]) if len(argv) > 2 else 0.0
    print(fake.url, flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
