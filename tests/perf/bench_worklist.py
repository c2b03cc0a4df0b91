"""Benchmark: the worklist page of a seller with many open activities.

    python -m tests.perf.bench_worklist --activities 100000

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench_worklist`
database, created if missing): `--activities` leads (plus a noisy neighbour tenant), ten active
sequences (a wait, then an email, call, task or SMS activity), every lead connected to one of
them with the same seller, the wait completed and the activity open, due times spread from ten
days ago to thirty days ahead (so the time filters have work); a second seller with a tenth as
many open activities. Then requests the worklist page through the app (test client, signed in as
the seller: routing, tenancy, login, the query and the template all count):

- the first page (`/worklist`), `--repeat` times;
- with a filter, rotating through: one activity type, one sequence, overdue, due today.

Prints one JSON line last: {"activities", "p50_ms", "p95_ms", "filtered_p95_ms", ...}.
`--explain` prints the first page's query plan to stderr. Not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from sqlalchemy import text

from saas import create_app
from saas.auth.models import Role, Tenant, User
from saas.auth.passwords import hash_password
from saas.extensions import db
from saas.sequences.models import Sequence, Step
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.perf.common import build, ensure_database

DATABASE_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/bench_worklist")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")
PASSWORD = "bench-password-bench"
ACTIVITY_TYPES = ["email", "call", "task", "sms"]

FILL = """
INSERT INTO record (tenant_id, record_type, first_name, last_name, company, email, phone,
                    lead_source, status, owner_id, country, time_zone, custom, created_at,
                    updated_at)
SELECT :tenant, 'lead',
       (ARRAY['Ava','Noah','Mia','Liam','Zoe','Lucas','Emma','Hugo','Ines','Omar'])[1 + g % 10],
       'Last' || lpad((g % 50000)::text, 5, '0'),
       'Company ' || (g % 20000),
       'person' || g || '@t' || :tenant || '.example',
       '+3361' || lpad((g % 10000000)::text, 7, '0'),
       (ARRAY[{sources}])[1 + (g * 7) % {nsources}],
       'new', :owner, 'FR', 'Europe/Paris', '{{}}'::jsonb,
       now() - (g * 31 || ' seconds')::interval, now() - (g * 31 || ' seconds')::interval
FROM generate_series(1, :n) AS g
"""

ENROL = """
INSERT INTO enrollment (tenant_id, record_id, sequence_id, lineage_id, seller_id, status,
                        current_step_id, source, steps_done, started_at, updated_at)
SELECT :tenant, r.id, s.sequence_id, s.sequence_id,
       CASE WHEN r.id > :mine THEN :other ELSE :seller END,
       'active', s.activity_id, 'bulk', 1, now() - interval '11 days', now()
FROM record r
JOIN (SELECT * FROM unnest(CAST(:sequences AS int[]), CAST(:waits AS int[]),
                           CAST(:activities AS int[]), CAST(:types AS text[]))
      WITH ORDINALITY AS t(sequence_id, wait_id, activity_id, step_type, k)) s
  ON s.k = 1 + r.id % 10
WHERE r.tenant_id = :tenant
"""

RUNS = """
INSERT INTO step_run (tenant_id, enrollment_id, step_id, sequence_id, record_id, seller_id,
                      step_type, status, due_at, created_at, started_at, completed_at, attempts)
SELECT e.tenant_id, e.id, s.wait_id, e.sequence_id, e.record_id, e.seller_id, 'wait',
       'completed', now() - interval '11 days', now() - interval '11 days',
       now() - interval '11 days', now() - interval '10 days', 0
FROM enrollment e JOIN (SELECT * FROM unnest(CAST(:sequences AS int[]), CAST(:waits AS int[]))
                        AS t(sequence_id, wait_id)) s ON s.sequence_id = e.sequence_id
WHERE e.tenant_id = :tenant;
INSERT INTO step_run (tenant_id, enrollment_id, step_id, sequence_id, record_id, seller_id,
                      step_type, status, due_at, created_at, attempts)
SELECT e.tenant_id, e.id, e.current_step_id, e.sequence_id, e.record_id, e.seller_id,
       s.step_type, 'open',
       now() - interval '10 days' + ((e.id * 7919) % (40 * 86400)) * interval '1 second',
       now() - interval '10 days', 0
FROM enrollment e JOIN (SELECT * FROM unnest(CAST(:sequences AS int[]),
                                             CAST(:types AS text[]))
                        AS t(sequence_id, step_type)) s ON s.sequence_id = e.sequence_id
WHERE e.tenant_id = :tenant;
"""


def populate(app, tenant_id: int, mine: int) -> tuple[int, int, int]:
    """Sellers, sequences, enrollments and step runs; returns (seller id, open activities,
    a sequence lineage id)."""
    with app.app_context(), tenant_context(tenant_id):
        tenant = db.session.execute(db.select(Tenant).where(Tenant.id == tenant_id)).scalar_one()
        tenant.workspace_published_at = utcnow()
        password = hash_password(PASSWORD)
        seller = User(email="seller@bench.example", name="Bench Seller", password_hash=password,
                      roles=[Role.SELLER.value], status="active")
        other = User(email="other@bench.example", name="Other Seller", password_hash=password,
                     roles=[Role.SELLER.value], status="active")
        db.session.add_all([seller, other])
        db.session.flush()
        sequences, waits, activities, types = [], [], [], []
        for i in range(10):
            kind = ACTIVITY_TYPES[i % len(ACTIVITY_TYPES)]
            seq = Sequence(name=f"Sequence {i + 1:02d}", record_type="lead", status="active",
                           settings={}, version=1)
            db.session.add(seq)
            db.session.flush()
            seq.lineage_id = seq.id
            wait = Step(sequence_id=seq.id, branch="main", position=0, type="wait",
                        name="Wait a day", config={"days": 1, "hours": 0})
            activity = Step(sequence_id=seq.id, branch="main", position=1, type=kind,
                            name=f"{kind.capitalize()} step {i + 1}", config={})
            db.session.add_all([wait, activity])
            db.session.flush()
            sequences.append(seq.id)
            waits.append(wait.id)
            activities.append(activity.id)
            types.append(kind)
        first_id = db.session.execute(text("SELECT min(id) FROM record WHERE tenant_id = :t"),
                                      {"t": tenant_id}).scalar_one()
        params = {"tenant": tenant_id, "seller": seller.id, "other": other.id,
                  "mine": first_id + mine - 1,
                  "sequences": sequences, "waits": waits, "activities": activities,
                  "types": types}
        db.session.execute(text(ENROL), params)
        for statement in RUNS.split(";"):
            if statement.strip():
                db.session.execute(text(statement), params)
        open_count = db.session.execute(text(
            "SELECT count(*) FROM step_run WHERE tenant_id = :t AND seller_id = :s "
            "AND status = 'open'"), {"t": tenant_id, "s": seller.id}).scalar_one()
        db.session.commit()
        seller_id = seller.id
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("enrollment", "step_run", "sequence", "step", "user_account"):
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    return seller_id, open_count, sequences[1]


def timed(client, path: str, repeat: int, expect: str) -> list[float]:
    for _ in range(3):  # warm the connection, the statement and the template caches
        client.get(path)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or expect not in response.get_data(as_text=True):
            raise SystemExit(f"{path}: {response.status_code}, expected {expect!r}")
    return times


def explain(app, tenant_id: int, seller_id: int) -> None:
    from saas.engine import clock
    from saas.worklist import queries

    with app.app_context(), tenant_context(tenant_id):
        day = queries.DayBounds.for_user(clock.now(), "UTC")
        query = queries.WorklistQuery(seller_id=seller_id)
        captured = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            captured.append((statement, parameters))

        from sqlalchemy import event

        event.listen(db.engine, "before_cursor_execute", capture)
        queries.worklist_page(query, day)
        event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        plan = db.session.connection().exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).scalars()
        print(statement, "\n".join(plan), sep="\n", file=sys.stderr)
        db.session.rollback()


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)
    app = create_app({"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                      "SECRET_KEY": "bench-" * 8, "WTF_CSRF_ENABLED": False,
                      "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192"})
    started = time.perf_counter()
    # The first `--activities` leads go to the seller, a tenth more to the second seller.
    records = args.activities + args.activities // 10
    ids = build(app, records, FILL, None)
    tenant_id, _ = ids["bench"]
    seller_id, open_count, lineage = populate(app, tenant_id, args.activities)
    build_seconds = time.perf_counter() - started
    if args.explain:
        explain(app, tenant_id, seller_id)

    client = app.test_client()
    login = client.post("/bench/login", data={"email": "seller@bench.example",
                                              "password": PASSWORD})
    if login.status_code != 302:
        raise SystemExit(f"login failed: {login.status_code}")
    first = timed(client, "/bench/worklist", args.repeat, "Mark complete")
    filters = ["/bench/worklist?type=call", f"/bench/worklist?sequence={lineage}",
               "/bench/worklist?when=overdue", "/bench/worklist?when=today"]
    filtered: list[float] = []
    per_filter = {}
    for path in filters:
        times = timed(client, path, max(args.repeat // len(filters), 5), "Mark complete")
        per_filter[path.split("?", 1)[1]] = round(percentile(times, 95), 2)
        filtered.extend(times)
    counts = timed(client, "/bench/worklist/counts", max(args.repeat // 10, 5), "wl-count")
    print(json.dumps({"per_filter_p95_ms": per_filter,
                      "counts_p95_ms": round(percentile(counts, 95), 2),
                      "build_s": round(build_seconds, 1)}), file=sys.stderr)
    print(json.dumps({
        "activities": open_count,
        "p50_ms": round(statistics.median(first), 2),
        "p95_ms": round(percentile(first, 95), 2),
        "filtered_p95_ms": round(percentile(filtered, 95), 2),
    }))


if __name__ == "__main__":
    main()
