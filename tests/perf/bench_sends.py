"""Benchmark: automated emails handed to SendGrid (the local fake server, answering after 100 ms)
by send jobs in worker processes, with sending windows and daily caps on.

    python -m tests.perf.bench_sends --emails 20000 [--tenants 4] [--workers 2]
        [--concurrency 100] [--latency 0.1]

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench_sends`
database, created if missing) and uses TEST_REDIS_URL (default Redis db 3, flushed). The fake
provider server (tests/messaging/fake_providers.py) runs in its own process and answers every
request after `--latency` seconds, as a real API does. `--tenants` tenants are configured for
SendGrid (an encrypted key, the base URL pointed at the fake server); each has its share of
`--emails` leads spread over five time zones, connected (through the engine) to a sequence whose
first step is an automated email with merge fields and links (rendered, sanitized, converted to
text, tracked), then a task. The sequence has a sending window (08:00-20:00 every day, in the
recipient's zone) and a seller's daily cap, the tenant a daily cap and sender caps (daily,
hourly, no minimum gap): all set above the run's volume, so every claim counts the day's sends
under the tenant's lock, locks and counts its sender, and checks the window, and nothing is
deferred. The engine clock (shared through Redis, saas/engine/clock.py) is set to
a day at 14:00 UTC, when the window is open in all five zones.

`--workers` processes each run `python -m worker` with APP_ENV=production settings: SENDS_OFF_TICK
on (the tick enqueues a send sweep per shard of tenants on the `sends` queue; a sweep gives each of
its tenants a turn: it claims the tenant's due sends, windows and caps applied, and delivers them),
TICK_SECONDS=1, SEND_CONCURRENCY `--concurrency` (provider calls at once per worker, shared by the
tenants a sweep serves at once). A
tenant is served by one sweep at a time, so with fewer tenants than workers some workers idle:
hence several tenants.

Prints one JSON line last: {"emails", "emails_per_s", "duplicates", "lost", ...}. emails_per_s is
the sent emails over the span from the first claim to the last send (engine time, as written on
the step runs); `wall_seconds` also counts the workers' start. The workers start with their clock
an hour before the sends are due; once they are up, `worker_start_cpu_seconds` is the CPU they
spent starting, and the clock moves to 14:00: `emails_per_worker_cpu_s` counts all their CPU,
`emails_per_send_cpu_s` only what came after the start. Duplicates are step runs the server
received more than once; lost are emails neither sent, failed nor unknown at the end, or marked
sent that the server never received. Not a test: nothing asserts a timing.
"""

# ruff: noqa: S603 - the commands are this Python.

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from redis import Redis
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
SECRET = "bench-sends-" * 4
KEY = Fernet.generate_key().decode()  # MESSAGING_ENCRYPTION_KEY, as production requires
ZONES = ("Europe/London", "Europe/Paris", "America/New_York", "America/Sao_Paulo",
         "Africa/Lagos")
WINDOW = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "08:00", "end": "20:00"}
HTML = ("<h1>Hello {{ record.first_name }}</h1><p>{{ record.company }} could save time with "
        "us. <a href=\"https://example.com/tour?src=seq\">Take the tour</a> or "
        "<a href=\"https://example.com/pricing\">see pricing</a>.</p>"
        "<p>Best,<br>{{ seller.name }}</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>")
GOAL_PER_S = 1000


def _app(offset: float):
    return create_app({"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "SECRET_KEY": SECRET, "WTF_CSRF_ENABLED": False,
                       "MESSAGING_ENCRYPTION_KEY": KEY,
                       "ENGINE_CLOCK_OFFSET": offset})


def _tenant(slug: str, emails: int) -> int:
    from saas.engine.connect import connect_many
    from saas.sequences.models import Sequence, Step
    from saas.templates_.models import MessageTemplate

    tenant = Tenant(slug=slug, name=slug.title(), licence="sales_enterprise", settings={
        "messaging": {"sendgrid_key": crypto.encrypt("SG.bench"),
                      "from_address": f"hello@{slug}.example", "from_name": slug.title(),
                      "inbound_domain": f"reply.{slug}.example"},
        "daily_send_cap": emails * 10,
        "sender_caps": {"daily_cap": emails * 10, "hourly_cap": emails * 10,
                        "min_gap_seconds": 0}})
    db.session.add(tenant)
    db.session.flush()
    with tenant_context(tenant.id):
        seller = User(email=f"seller@{slug}.example", name="Sam Seller", password_hash=None,
                      roles=[Role.SELLER.value], status="active")
        db.session.add(seller)
        db.session.flush()
        db.session.execute(text(
            "INSERT INTO record (tenant_id, record_type, first_name, last_name, company, "
            "email, status, custom, time_zone, owner_id, created_at, updated_at) "
            "SELECT :t, 'lead', 'First' || g, 'Last' || g, 'Company ' || (g % 97), "
            "'person' || g || '@' || :slug || '.example', 'new', '{}', "
            "(CAST(:zones AS text[]))[1 + g % 5], :o, now(), now() "
            "FROM generate_series(1, :n) g"),
            {"t": tenant.id, "o": seller.id, "n": emails, "slug": slug, "zones": list(ZONES)})
        template = MessageTemplate(kind="email", name="Tour", language="en",
                                   subject="{{ record.first_name }}, a quick tour?",
                                   html_body=HTML, text_body="")
        db.session.add(template)
        seq = Sequence(name="Bench", record_type="lead", status="active", version=1,
                       settings={"window": WINDOW, "seller_daily_cap": emails * 10})
        db.session.add(seq)
        db.session.flush()
        seq.lineage_id = seq.id
        db.session.add_all([
            Step(sequence_id=seq.id, branch="main", position=0, type="auto_email",
                 name="Tour", config={"template_id": template.id}),
            Step(sequence_id=seq.id, branch="main", position=1, type="task", name="Call")])
        db.session.flush()
        ids = db.session.execute(text("SELECT id FROM record WHERE tenant_id = :t"),
                                 {"t": tenant.id}).scalars().all()
        connect_many(ids, seq.lineage_id, assign=False)
        db.session.commit()
        return tenant.id


def build(app, emails: int, tenants: int) -> list[int]:
    from flask_migrate import upgrade

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        shares = [emails // tenants + (1 if i < emails % tenants else 0) for i in range(tenants)]
        ids = [_tenant(f"bench{i + 1}", n) for i, n in enumerate(shares) if n]
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        return ids


def _workers(n: int, fake_url: str, concurrency: int) -> list[subprocess.Popen]:
    env = {**os.environ, "APP_ENV": "production", "ENGINE_CLOCK_SHARED": "1",
           "DATABASE_URL": DATABASE_URL,
           "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET, "PUBLIC_URL": "https://bench.example",
           "SENDS_OFF_TICK": "1", "TICK_SECONDS": "1", "WORKER_LOG_LEVEL": "WARNING",
           "SENDGRID_BASE_URL": fake_url, "PROVIDER_TIMEOUT_SECONDS": "10",
           "SEND_CONCURRENCY": str(concurrency), "MESSAGING_ENCRYPTION_KEY": KEY}
    env.pop("TEST_DATABASE_URL", None)
    return [subprocess.Popen([sys.executable, "-m", "worker"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(n)]


def _cpu_seconds(pid: int) -> float:
    """A live process's CPU time so far (user and system, /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _started(workers: list[subprocess.Popen], redis: Redis, deadline: float) -> float | None:
    """Once every worker has registered with RQ and a second more has passed (its first
    ticks): the CPU seconds they spent so far; None without /proc or when they are late."""
    from rq import Worker

    while Worker.count(connection=redis) < len(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    try:
        return sum(_cpu_seconds(worker.pid) for worker in workers)
    except OSError:
        return None


def _left(tenant_ids: list[int]) -> int:
    value = db.session.execute(text(
        "SELECT count(*) FROM step_run WHERE step_type = 'auto_email' AND tenant_id = ANY(:t) "
        "AND status IN ('pending', 'sending')"), {"t": tenant_ids}).scalar()
    db.session.rollback()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--tenants", type=int, default=4, help="tenants sharing the emails")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=100,
                        help="SEND_CONCURRENCY: provider calls at once per worker")
    parser.add_argument("--latency", type=float, default=0.1,
                        help="seconds the fake provider takes to answer")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    ensure_database(DATABASE_URL)
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    load_start = os.getloadavg()[0]
    engine_now = datetime.now(UTC).replace(hour=14, minute=0, second=0, microsecond=0)
    engine_now += timedelta(days=1)
    offset = (engine_now - datetime.now(UTC)).total_seconds()
    server = subprocess.Popen([sys.executable, "-m", "tests.messaging.fake_providers", "0",
                               str(args.latency)], stdout=subprocess.PIPE, text=True)
    workers: list[subprocess.Popen] = []
    try:
        fake_url = server.stdout.readline().strip()
        app = _app(offset)
        started = time.perf_counter()
        tenant_ids = build(app, args.emails, args.tenants)
        build_seconds = time.perf_counter() - started
        with app.app_context():
            from saas.engine import clock

            # The workers start an hour before the sends are due (nothing to do), so that
            # the CPU they spend starting (imports, the app) is told apart from sending's.
            clock.set_offset(offset - 3600)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            workers = _workers(args.workers, fake_url, args.concurrency)
            start_cpu = _started(workers, redis, time.monotonic() + 120)
            clock.set_offset(offset)  # the workers' clock: the same day at 14:00 UTC
            deadline = time.monotonic() + args.timeout
            while _left(tenant_ids) and time.monotonic() < deadline:
                time.sleep(0.25)
            wall = time.perf_counter() - started
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            rows = db.session.execute(text(
                "SELECT id, status FROM step_run WHERE tenant_id = ANY(:t) AND "
                "step_type = 'auto_email'"), {"t": tenant_ids}).all()
            span = db.session.execute(text(
                "SELECT extract(epoch FROM max(completed_at) - min(started_at)) FROM step_run "
                "WHERE tenant_id = ANY(:t) AND step_type = 'auto_email' AND status = 'sent'"),
                {"t": tenant_ids}).scalar()
            db.session.rollback()
        with urllib.request.urlopen(fake_url + "/_fake/stats") as response:  # noqa: S310
            stats = json.load(response)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        server.terminate()
        server.wait(timeout=10)
    worker_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    received = stats["per_step_run"]
    statuses: dict[str, int] = {}
    lost = 0
    for run_id, status in rows:
        statuses[status] = statuses.get(status, 0) + 1
        if status not in ("sent", "failed", "unknown") or (
                status == "sent" and str(run_id) not in received):
            lost += 1
    sent = statuses.get("sent", 0)
    span = float(span or 0)
    per_s = round(sent / span, 1) if span else None
    duplicates = sum(1 for count in received.values() if count > 1)
    print(json.dumps({
        "emails": args.emails,
        "emails_per_s": per_s,
        "duplicates": duplicates,
        "lost": lost,
        "sent": sent,
        "statuses": statuses,
        "provider_requests": stats["requests"],
        "send_seconds": round(span, 2),
        "wall_seconds": round(wall, 2),
        "worker_cpu_seconds": round(worker_cpu, 2),
        "emails_per_worker_cpu_s": round(sent / worker_cpu, 1) if worker_cpu else None,
        "worker_start_cpu_seconds": None if start_cpu is None else round(start_cpu, 2),
        "emails_per_send_cpu_s": round(sent / (worker_cpu - start_cpu), 1)
        if start_cpu is not None and worker_cpu > start_cpu else None,
        "tenants": len(tenant_ids), "workers": args.workers, "concurrency": args.concurrency,
        "latency_s": args.latency, "zones": len(ZONES), "window": "08:00-20:00 local",
        "caps": "tenant and seller daily caps on (above the volume)",
        "build_seconds": round(build_seconds, 1),
        "goals": {"emails_per_s": f">= {GOAL_PER_S}", "duplicates": 0, "lost": 0,
                  "met": bool(per_s and per_s >= GOAL_PER_S) and not duplicates and not lost},
        "load_average_1m": [round(load_start, 2), round(os.getloadavg()[0], 2)],
    }))


if __name__ == "__main__":
    main()
