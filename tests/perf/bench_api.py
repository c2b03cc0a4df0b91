"""Benchmark: the public API over a tenant of 1,000,000 leads, as an integration uses it.

    python -m tests.perf.bench_api --records 1000000

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench_api`
database), inserts the leads in bulk SQL (plus a noisy neighbour), activates the segments of
bench_segments (so every write refreshes live membership, as in a real workspace), then serves
the app with gunicorn in production settings (2 workers x 4 threads) and calls it over HTTP with
an API key:

- bulk upsert: POST /records/bulk with 1,000 records a request, half of them existing leads
  (found by email and updated) and half new, with names, company, phone, country, status and a
  custom field: records/s over all requests, each committed before it answers;
- single GET /records/{id} of random leads: p50 and p95 in ms.

Prints one JSON line last. Not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time

import urllib3
from sqlalchemy import text

from saas import create_app
from saas.api.keys import create_key
from saas.auth.models import User
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.perf.bench_records import FILL
from tests.perf.bench_segments import activate
from tests.perf.common import build, ensure_database

DATABASE_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/bench_api")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET = "bench-secret-key-bench-secret-key-0123456789"  # noqa: S105
ENV = {"APP_ENV": "production", "SECRET_KEY": SECRET, "DATABASE_URL": DATABASE_URL,
       "REDIS_URL": REDIS_URL, "SESSION_COOKIE_SECURE": "false",
       "PUBLIC_URL": "http://127.0.0.1", "API_RATE_LIMIT": "1000000 per minute"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int) -> subprocess.Popen:
    env = {**os.environ, **ENV}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"], env=env)
    http = urllib3.PoolManager()
    for _ in range(100):
        try:
            http.request("GET", f"http://127.0.0.1:{port}/healthz", timeout=1, retries=False)
            return process
        except urllib3.exceptions.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def _item(n: int, existing: bool, tenant_id: int) -> dict:
    email = (f"person{n}@t{tenant_id}.example" if existing else f"new{n}@api.example")
    return {"email": email, "first_name": random.choice(["Ava", "Noah", "Mia", "Hugo"]),
            "last_name": f"Api{n}", "company": f"Company {n % 5000}",
            "phone": f"+33 6 12 {n % 100:02d} {(n // 100) % 100:02d} {(n // 7) % 100:02d}",
            "country": "FR", "status": random.choice(["new", "contacted", "qualified"]),
            "custom": {"tier": random.choice(["Gold", "Silver"])}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--gets", type=int, default=400)
    args = parser.parse_args()
    random.seed(7)
    ensure_database(DATABASE_URL)
    app = create_app(ENV)
    ids = build(app, args.records, FILL, None)
    tenant_id, user_id = ids["bench"]
    with app.app_context():
        activate(tenant_id)
        with tenant_context(tenant_id):
            user = db.session.execute(db.select(User).where(User.id == user_id)).scalar_one()
            token, __ = create_key(name="Bench", role="sequence_manager", created_by=user)
        low, high = db.session.execute(text(
            "SELECT min(id), max(id) FROM record WHERE tenant_id = :t"), {"t": tenant_id}).one()
    port = _free_port()
    server = serve(port)
    base = f"http://127.0.0.1:{port}/api/v1/bench"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    http = urllib3.PoolManager(maxsize=4)
    try:
        http.request("GET", f"{base}/records?limit=1", headers=headers)  # warm both workers
        written, bulk_seconds, per_request = 0, 0.0, []
        for batch in range(args.batches):
            items = []
            picked = iter(random.sample(range(1, args.records + 1), 500))
            for k in range(1000):
                n = batch * 1000 + k
                existing = k % 2 == 0
                items.append(_item(next(picked) if existing else n, existing, tenant_id))
            body = json.dumps({"type": "lead", "match": "email", "records": items})
            started = time.perf_counter()
            response = http.request("POST", f"{base}/records/bulk", body=body, headers=headers)
            elapsed = time.perf_counter() - started
            result = json.loads(response.data)
            if response.status != 200 or result["failed"]:
                raise SystemExit(f"bulk failed: {response.status} {response.data[:500]!r}")
            written += result["created"] + result["updated"]
            bulk_seconds += elapsed
            per_request.append(elapsed * 1000)
        gets = []
        for _ in range(args.gets):
            record_id = random.randint(low, high)
            started = time.perf_counter()
            response = http.request("GET", f"{base}/records/{record_id}", headers=headers)
            gets.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise SystemExit(f"GET failed: {response.status}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    gets.sort()
    print(json.dumps({
        "records": args.records, "bulk_requests": args.batches,
        "bulk_records_per_s": round(written / bulk_seconds),
        "bulk_request_p50_ms": round(statistics.median(per_request), 1),
        "get_p50_ms": round(statistics.median(gets), 2),
        "get_p95_ms": round(gets[int(len(gets) * 0.95) - 1], 2),
    }))


if __name__ == "__main__":
    main()
