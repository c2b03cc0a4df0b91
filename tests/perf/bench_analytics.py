"""Benchmark: a sequence's analytics page over a million step runs.

    python -m tests.perf.bench_analytics --step-runs 1000000

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench_analytics`
database, created if missing), then in bulk SQL: one lead per enrollment (plus a noisy neighbour
tenant), a sequence in two versions (10% of the records on version 1, the rest on version 2, with
a goal) of five steps each (automated email, wait, A/B test of two automated emails, call, email
condition), `--step-runs` step runs spread over those five steps and 90 days (statuses as a
running sequence leaves them: sent, completed, skipped, failed, open, waiting) and message events
for the sends (delivered 95%, open 30%, click 6%, reply 3%, bounce 2%, unsubscribe 0.5%). The A/B
test is started and evaluated once.

Then a signed-in sequence manager opens the analytics page through the Flask test client, end
to end (routing, gate, queries, charts, template), one warm-up then `--repeat` timed loads each:
- computed on request (`fresh=1`, as the Refresh link does): all time, and last 30 days;
- after the periodic job computed the sequence's snapshot (what a person opening the page gets,
  figures at most ten minutes old): all time, and last 30 days of version 1.
Prints one JSON line last: {"step_runs", "page_ms" (median, from the job's snapshot),
"page_computed_ms" (median, computed on request), "page_computed_30d_ms", "snapshot_job_ms",
...}. `--explain` prints the query plans to stderr. Not a test: nothing here asserts a timing.
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
from saas.auth.passwords import hash_password
from saas.engine import abtests
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.perf.common import build, ensure_database

DATABASE_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/bench_analytics")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
STEPS_PER_ENROLLMENT = 5
PASSWORD = "bench-password-bench-password"

FILL = """
INSERT INTO record (tenant_id, record_type, first_name, last_name, company, email, lead_source,
                    status, owner_id, country, time_zone, custom, created_at, updated_at)
SELECT :tenant, 'lead', 'First', 'Last' || g, 'Company ' || (g % 5000),
       'person' || g || '@t' || :tenant || '.example',
       (ARRAY[{sources}])[1 + (g * 7) % {nsources}],
       (ARRAY['new','contacted','qualified','disqualified'])[1 + (g * 13) % 4],
       :owner, 'FR', 'Europe/Paris', '{{}}'::jsonb,
       now() - interval '120 days', now() - interval '120 days'
FROM generate_series(1, :n) AS g
"""

ENROLL = """
INSERT INTO enrollment (tenant_id, record_id, sequence_id, lineage_id, seller_id, status,
                        exit_reason, source, steps_done, started_at, ended_at, updated_at)
SELECT :t, r.id, CASE WHEN r.n % 10 = 0 THEN :v1 ELSE :v2 END, :v1, :owner,
       (ARRAY['active','active','active','completed','completed','completed','exited',
              'exited','disconnected','paused'])[1 + (r.n * 7) % 10],
       CASE WHEN (r.n * 7) % 10 = 6 THEN 'reply' WHEN (r.n * 7) % 10 = 7 THEN 'bounce' END,
       'segment', 3, now() - ((r.n % 90) || ' days')::interval - interval '6 days',
       CASE WHEN (r.n * 7) % 10 BETWEEN 3 AND 8
            THEN now() - ((r.n % 90) || ' days')::interval - ((r.n % 5) || ' days')::interval
       END,
       now()
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM record WHERE tenant_id = :t) AS r
"""

# Step k (1..5) of the enrollment's version; the last step reached is still in progress for
# running enrollments. Types: auto_email, wait, ab_test (sends as auto_email), call, condition.
STEP_RUNS = """
INSERT INTO step_run (tenant_id, enrollment_id, step_id, sequence_id, record_id, seller_id,
                      step_type, status, due_at, created_at, started_at, completed_at,
                      ab_version, attempts)
SELECT e.tenant_id, e.id,
       CASE WHEN e.sequence_id = :v1 THEN (ARRAY[{v1_steps}])[k] ELSE (ARRAY[{v2_steps}])[k] END,
       e.sequence_id, e.record_id, e.seller_id,
       (ARRAY['auto_email','wait','auto_email','call','email_condition'])[k],
       CASE WHEN k = 5 AND e.status IN ('active', 'paused') THEN 'waiting'
            WHEN k = 4 AND (e.id % 17) = 0 THEN 'skipped'
            WHEN k = 4 AND (e.id % 13) = 0 THEN 'open'
            WHEN k IN (1, 3) AND (e.id % 50) = 0 THEN 'failed'
            WHEN k IN (1, 3) THEN 'sent' ELSE 'completed' END,
       e.started_at + (k || ' days')::interval,
       e.started_at + ((k - 1) || ' days')::interval,
       e.started_at + ((k - 1) || ' days')::interval,
       e.started_at + ((k - 1) || ' days')::interval + interval '1 hour',
       CASE WHEN k = 3 THEN (ARRAY['A','B'])[1 + e.id % 2] END, 1
FROM enrollment e CROSS JOIN generate_series(1, :per) AS k
WHERE e.tenant_id = :t AND e.id <= :last_enrollment
"""

EVENTS = """
INSERT INTO message_event (tenant_id, step_run_id, kind, provider, provider_event_id, data,
                           occurred_at, created_at)
SELECT sr.tenant_id, sr.id, v.kind, 'sendgrid', v.kind || '-' || sr.id, '{}'::jsonb,
       sr.completed_at + interval '3 hours', sr.completed_at + interval '3 hours'
FROM step_run sr
CROSS JOIN (VALUES ('delivered', 950, 1), ('open', 300, 7), ('click', 60, 11),
                   ('reply', 30, 13), ('bounce', 20, 17), ('unsubscribe', 5, 19))
     AS v(kind, per_mille, salt)
WHERE sr.tenant_id = :t AND sr.status = 'sent'
  AND ((sr.id * 7919 + v.salt * 104729) % 1000) < v.per_mille
  AND NOT (v.kind = 'click' AND sr.step_id = :ab_step AND sr.ab_version = 'A'
           AND (sr.id % 5) = 0)
"""


def make_sequences(tenant_id: int, owner_id: int) -> tuple[int, int, int, list[int], list[int]]:
    from tests.analytics.history import ab_config, add_step, make_sequence

    with tenant_context(tenant_id):
        goal = {"goal": {"field": "status", "value": "qualified"}}
        v1 = make_sequence("Trade show follow-up", status="retired", settings=goal)
        v2 = make_sequence("Trade show follow-up", status="active", settings=goal, lineage=v1)
        steps = {}
        for seq in (v1, v2):
            email = add_step(seq, "auto_email", "Thanks for visiting", position=0,
                             config={"template_id": None})
            wait = add_step(seq, "wait", "Wait 2 days", position=1,
                            config={"days": 2, "hours": 0})
            ab = add_step(seq, "ab_test", "Subject line test", position=2, config=ab_config())
            call = add_step(seq, "call", "Call", position=3)
            cond = add_step(seq, "email_condition", "Opened?", position=4,
                            config={"events": ["opened"], "match": "any", "limit_days": 3,
                                    "limit_hours": 0, "move_on_event": True})
            add_step(seq, "task", "Send a brochure", position=0, parent=cond, branch="yes")
            steps[seq.id] = [email.id, wait.id, ab.id, call.id, cond.id]
        abtests.start_tests(v2.id)
        db.session.commit()
        return v1.id, v2.id, steps[v2.id][2], steps[v1.id], steps[v2.id]


def fill(tenant_id: int, owner_id: int, step_runs: int) -> dict:
    v1, v2, ab_step, v1_steps, v2_steps = make_sequences(tenant_id, owner_id)
    params = {"t": tenant_id, "v1": v1, "v2": v2, "owner": owner_id}
    db.session.execute(text("UPDATE tenant SET workspace_published_at = now() WHERE id = :t"),
                       params)
    db.session.execute(text(ENROLL), params)
    enrollments = step_runs // STEPS_PER_ENROLLMENT
    last = db.session.execute(text(
        "SELECT max(id) FROM (SELECT id FROM enrollment WHERE tenant_id = :t ORDER BY id "
        "LIMIT :n) AS e"), {"t": tenant_id, "n": enrollments}).scalar_one()
    db.session.execute(text(STEP_RUNS.format(
        v1_steps=",".join(map(str, v1_steps)), v2_steps=",".join(map(str, v2_steps)))),
        {**params, "per": STEPS_PER_ENROLLMENT, "last_enrollment": last})
    db.session.execute(text(EVENTS), {"t": tenant_id, "ab_step": ab_step})
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("enrollment", "step_run", "message_event", "record"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    with tenant_context(tenant_id):
        abtests.evaluate_running()
    counts = {}
    for table in ("enrollment", "step_run", "message_event"):
        count_sql = f"SELECT count(*) FROM {table} WHERE tenant_id = :t"  # noqa: S608
        counts[table] = db.session.execute(text(count_sql), {"t": tenant_id}).scalar_one()
    db.session.commit()
    return {"v2": v2, **counts}


def existing() -> dict:
    tenant_id = db.session.execute(text("SELECT id FROM tenant WHERE slug = 'bench'")).scalar_one()
    facts = {"tenant_id": tenant_id, "v2": db.session.execute(text(
        "SELECT max(id) FROM sequence WHERE tenant_id = :t"), {"t": tenant_id}).scalar_one()}
    for table in ("enrollment", "step_run", "message_event"):
        count_sql = f"SELECT count(*) FROM {table} WHERE tenant_id = :t"  # noqa: S608
        facts[table] = db.session.execute(text(count_sql), {"t": tenant_id}).scalar_one()
    db.session.rollback()
    return facts


def explain(tenant_id: int, sequence_id: int) -> None:
    """Log every statement the page runs, with its plan."""
    from sqlalchemy import event

    statements: list[tuple[str, dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        from saas.analytics import queries, snapshots
        with tenant_context(tenant_id):
            from sqlalchemy import select

            from saas.sequences.models import Sequence
            seq = db.session.execute(
                select(Sequence).where(Sequence.id == sequence_id)).scalar_one()
            now = abtests.now()
            period = queries.Period.parse("all", now)
            # What the page runs when the figures are computed on request ("Refresh").
            snapshots.figures(seq, seq, period, now, fresh=True)
            queries.ab_panels(seq, now)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    for statement, parameters in statements:
        plan = db.session.connection().exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).scalars()
        print(f"--- {statement}\n{parameters}\n" + "\n".join(plan), file=sys.stderr)
    db.session.rollback()


def time_page(app, slug: str, email: str, path: str, repeat: int) -> list[float]:
    client = app.test_client()
    response = client.post(f"/{slug}/login", data={"email": email, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"login failed: {response.status_code}")
    times = []
    for round_ in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        if round_:  # the first load warms the connection pool and the template cache
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--step-runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print query plans to stderr")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the data a previous run built (no rebuild)")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)
    app = create_app({"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                      "SECRET_KEY": "bench-" * 8, "WTF_CSRF_ENABLED": False,
                      "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192",
                      "RATELIMIT_ENABLED": False})
    records = max(10, args.step_runs // STEPS_PER_ENROLLMENT)
    started = time.perf_counter()
    with app.app_context():
        password_hash = hash_password(PASSWORD)
    if args.reuse:
        with app.app_context():
            facts = existing()
            tenant_id = facts["tenant_id"]
    else:
        ids = build(app, records, FILL, password_hash)
        tenant_id, owner_id = ids["bench"]
    with app.app_context():
        if not args.reuse:
            facts = fill(tenant_id, owner_id, args.step_runs)
        build_seconds = time.perf_counter() - started
        if args.explain:
            explain(tenant_id, facts["v2"])
        db.session.remove()
    path = f"/bench/analytics/sequences/{facts['v2']}"
    manager = "manager@bench.example"
    # Computed on request: every load recomputes (the Refresh link, or no snapshot yet).
    cold = time_page(app, "bench", manager, path + "?period=all&fresh=1", args.repeat)
    cold_30 = time_page(app, "bench", manager, path + "?period=30&fresh=1", args.repeat)
    with app.app_context():
        started_job = time.perf_counter()
        from saas.analytics.snapshots import warm_all_tenants
        warm_all_tenants()  # what the periodic job does every five minutes
        job_ms = (time.perf_counter() - started_job) * 1000
        db.session.remove()
    # What a person gets: the snapshot the job computed (at most ten minutes old), whatever
    # the period and version.
    warm = time_page(app, "bench", manager, path + "?period=all", args.repeat)
    warm_30 = time_page(app, "bench", manager, path + "?period=30&version=1", args.repeat)
    summary = {
        "step_runs": facts["step_run"],
        "page_ms": round(statistics.median(warm), 1),
        "page_max_ms": round(max(warm), 1),
        "page_30d_v1_ms": round(statistics.median(warm_30), 1),
        "page_computed_ms": round(statistics.median(cold), 1),
        "page_computed_max_ms": round(max(cold), 1),
        "page_computed_30d_ms": round(statistics.median(cold_30), 1),
        "snapshot_job_ms": round(job_ms, 1),
        "enrollments": facts["enrollment"],
        "events": facts["message_event"],
        "build_seconds": round(build_seconds, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
