"""Benchmark: automated emails handed to SendGrid (the local fake server), rendering included.

    python -m tests.perf.bench_sends --emails 20000 [--workers 2] [--concurrency 8]

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench_sends`
database, created if missing); a tenant configured for SendGrid with the base URL pointed at the
fake provider server (tests/messaging/fake_providers.py, run in its own process); `--emails` leads
connected (through the engine) to a sequence whose first step is an automated email with merge
fields and links (so every message is rendered, sanitized, converted to text, tracked). Then
`--workers` processes run the tick until every send is done, as RQ workers would; the clock
starts when they start.

Prints one JSON line last: {"emails", "emails_per_s", "duplicates", "lost", ...}: duplicates are
step runs the server received more than once; lost are emails neither sent, failed nor unknown
at the end, or marked sent that the server never received. Not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
import urllib.request

from sqlalchemy import text

from saas import create_app
from saas.auth.models import Role, Tenant, User
from saas.extensions import db
from saas.messaging import crypto
from saas.tenancy import tenant_context
from tests.perf.common import ensure_database

DATABASE_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/bench_sends")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
HTML = ("<h1>Hello {{ record.first_name }}</h1><p>{{ record.company }} could save time with "
        "us. <a href=\"https://example.com/tour?src=seq\">Take the tour</a> or "
        "<a href=\"https://example.com/pricing\">see pricing</a>.</p>"
        "<p>Best,<br>{{ seller.name }}</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>")


def _app(fake_url: str, concurrency: int):
    return create_app({"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "SECRET_KEY": "bench-" * 8, "WTF_CSRF_ENABLED": False,
                       "SENDGRID_BASE_URL": fake_url, "PROVIDER_TIMEOUT_SECONDS": "10",
                       "SEND_CONCURRENCY": concurrency, "ENGINE_TICK_BUDGET": 600})


def build(app, emails: int) -> int:
    from flask_migrate import upgrade

    from saas.engine.connect import connect_many
    from saas.sequences.models import Sequence, Step
    from saas.templates_.models import MessageTemplate

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        tenant = Tenant(slug="bench", name="Bench", licence="sales_enterprise", settings={
            "messaging": {"sendgrid_key": crypto.encrypt("SG.bench"),
                          "from_address": "hello@bench.example", "from_name": "Bench",
                          "inbound_domain": "reply.bench.example"}})
        db.session.add(tenant)
        db.session.flush()
        with tenant_context(tenant.id):
            seller = User(email="seller@bench.example", name="Sam Seller", password_hash=None,
                          roles=[Role.SELLER.value], status="active")
            db.session.add(seller)
            db.session.flush()
            db.session.execute(text(
                "INSERT INTO record (tenant_id, record_type, first_name, last_name, company, "
                "email, status, custom, time_zone, owner_id, created_at, updated_at) "
                "SELECT :t, 'lead', 'First' || g, 'Last' || g, 'Company ' || (g % 97), "
                "'person' || g || '@example.com', 'new', '{}', 'UTC', :o, now(), now() "
                "FROM generate_series(1, :n) g"), {"t": tenant.id, "o": seller.id, "n": emails})
            template = MessageTemplate(kind="email", name="Tour", language="en",
                                       subject="{{ record.first_name }}, a quick tour?",
                                       html_body=HTML, text_body="")
            db.session.add(template)
            seq = Sequence(name="Bench", record_type="lead", status="active", version=1,
                           settings={})
            db.session.add(seq)
            db.session.flush()
            seq.lineage_id = seq.id
            db.session.add_all([
                Step(sequence_id=seq.id, branch="main", position=0, type="auto_email",
                     name="Tour", config={"template_id": template.id}),
                Step(sequence_id=seq.id, branch="main", position=1, type="task",
                     name="Call")])
            db.session.flush()
            ids = db.session.execute(text("SELECT id FROM record WHERE tenant_id = :t"),
                                     {"t": tenant.id}).scalars().all()
            connect_many(ids, seq.lineage_id, assign=False)
            db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        return tenant.id


def worker(fake_url: str, concurrency: int) -> None:
    from saas.engine.tick import run_tick

    app = _app(fake_url, concurrency)
    with app.app_context():
        while True:
            totals = run_tick(budget_seconds=600)
            if not totals["claimed"]:
                left = db.session.execute(text(
                    "SELECT count(*) FROM step_run WHERE step_type = 'auto_email' "
                    "AND status IN ('pending', 'sending')")).scalar()
                db.session.remove()
                if not left:
                    return
                time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="provider calls per worker")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)
    server = subprocess.Popen([sys.executable, "-m", "tests.messaging.fake_providers", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        fake_url = server.stdout.readline().strip()
        app = _app(fake_url, args.concurrency)
        started = time.perf_counter()
        tenant_id = build(app, args.emails)
        build_seconds = time.perf_counter() - started
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=worker, args=(fake_url, args.concurrency))
                     for _ in range(args.workers)]
        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        with urllib.request.urlopen(fake_url + "/_fake/stats") as response:  # noqa: S310
            stats = json.load(response)
        with app.app_context():
            rows = db.session.execute(text(
                "SELECT id, status FROM step_run WHERE tenant_id = :t AND "
                "step_type = 'auto_email'"), {"t": tenant_id}).all()
    finally:
        server.terminate()
        server.wait(timeout=10)
    received = stats["per_step_run"]
    statuses: dict[str, int] = {}
    lost = 0
    for run_id, status in rows:
        statuses[status] = statuses.get(status, 0) + 1
        if status not in ("sent", "failed", "unknown") or (
                status == "sent" and str(run_id) not in received):
            lost += 1
    sent = statuses.get("sent", 0)
    summary = {
        "emails": args.emails,
        "emails_per_s": round(sent / elapsed, 1),
        "duplicates": sum(1 for count in received.values() if count > 1),
        "lost": lost,
        "sent": sent,
        "statuses": statuses,
        "provider_requests": stats["requests"],
        "seconds": round(elapsed, 2),
        # CPU the worker processes used (rendering, tracking, client, database calls): what the
        # rate would be with a core each, on a machine shared with nothing else.
        "worker_cpu_seconds": round(worker_cpu, 2),
        "emails_per_worker_cpu_s": round(sent / worker_cpu, 1) if worker_cpu else None,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "workers": args.workers,
        "concurrency": args.concurrency,
        "build_seconds": round(build_seconds, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
