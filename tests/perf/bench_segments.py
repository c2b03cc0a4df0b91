"""Benchmark: segment simulation and live membership over a large tenant.

    python -m tests.perf.bench_segments --records 1000000

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench_segments`
database, created if missing), inserts the records in bulk SQL (plus a noisy neighbour tenant),
activates four segments (rebuilt once), then measures, inside an app context and the tenant's
context:

- `simulate` of a segment of five conditions in two groups, over all the records;
- updating ONE record (a field changed in SQL, then `refresh_records([id])` with the four
  segments active), each in a transaction rolled back so every round starts from the same state.

Prints one JSON line last: {"records": ..., "simulate_ms": <p95>, "membership_update_ms": <p95>,
...}. `--explain` prints the query plans to stderr first. Not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

from sqlalchemy import and_, func, select, text

from saas import create_app
from saas.extensions import db
from saas.records.fields import fields_for
from saas.records.models import LEAD_SOURCES, Record
from saas.segments.membership import rebuild as rebuild_segment
from saas.segments.membership import refresh_records, simulate
from saas.segments.models import Segment, SegmentStatus
from saas.segments.rules import compile_rules, validate
from saas.tenancy import tenant_context
from tests.perf.common import build, ensure_database

DATABASE_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/bench_segments")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")

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
       (ARRAY['new','contacted','qualified','disqualified'])[1 + (g * 13) % 4],
       CASE WHEN g % 5 = 0 THEN NULL ELSE :owner END,
       (ARRAY['FR','DE','US','GB','ES'])[1 + (g * 3) % 5], 'Europe/Paris',
       jsonb_build_object('tier', (ARRAY['Gold','Silver'])[1 + g % 2]),
       now() - (g * 31 || ' seconds')::interval, now() - (g * 31 || ' seconds')::interval
FROM generate_series(1, :n) AS g
"""

# Five conditions in two groups: the segment being simulated.
SIMULATED = {"op": "and", "rules": [
    {"field": "lead_source", "operator": "equals", "value": "Trade show"},
    {"field": "status", "operator": "in_list", "value": "new, contacted"},
    {"op": "or", "rules": [
        {"field": "country", "operator": "equals", "value": "FR"},
        {"field": "company", "operator": "begins_with", "value": "Company 1"},
        {"field": "created_at", "operator": "in_last_days", "value": "30"},
    ]},
]}
ACTIVE = {
    "Trade show, new or contacted, FR or Company 1… or recent": SIMULATED,
    "Germany": {"op": "and", "rules": [
        {"field": "country", "operator": "equals", "value": "DE"}]},
    "Gold qualified": {"op": "and", "rules": [
        {"field": "custom.tier", "operator": "equals", "value": "Gold"},
        {"field": "status", "operator": "equals", "value": "qualified"}]},
    "Web or partner, unowned": {"op": "and", "rules": [
        {"field": "lead_source", "operator": "in_list", "value": "Web, Partner"},
        {"field": "owner_id", "operator": "is_empty"}]},
}


def activate(tenant_id: int) -> float:
    """Save and activate the segments, rebuilding each; returns the rebuild time in ms."""
    started = time.perf_counter()
    with tenant_context(tenant_id):
        fields = fields_for("lead")
        for priority, (name, rules) in enumerate(ACTIVE.items()):
            problems = validate(rules, fields)
            if problems:
                raise SystemExit(f"{name}: {problems}")
            segment = Segment(name=name, record_type="lead", rules=rules, priority=priority,
                              status=SegmentStatus.ACTIVE.value)
            db.session.add(segment)
            db.session.flush()
            rebuild_segment(segment)
        db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE segment_member"))
    return (time.perf_counter() - started) * 1000


def time_simulate(tenant_id: int, repeat: int) -> tuple[list[float], int]:
    times, count = [], 0
    with tenant_context(tenant_id):
        simulate("lead", SIMULATED)  # warm
        db.session.rollback()
        for _ in range(repeat):
            started = time.perf_counter()
            count, first = simulate("lead", SIMULATED)
            times.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
            if count and not first:
                raise SystemExit("simulate counted matches but listed none")
    return times, count


def time_membership_update(tenant_id: int, repeat: int) -> tuple[list[float], list[float]]:
    """Each round: change one record's fields in SQL, refresh it, commit (untimed), as saving a
    record does. psycopg forgets its prepared statements at every ROLLBACK, so these rounds are
    saves following saves on one connection; after a request that only read (it ends with a
    ROLLBACK) the refresh statement is planned again: the README gives those figures too."""
    rng = random.Random(7)
    record_ids = db.session.execute(text(
        "SELECT id FROM record WHERE tenant_id = :t ORDER BY random() LIMIT :n"),
        {"t": tenant_id, "n": repeat + 5}).scalars().all()
    db.session.rollback()
    whole, refresh_only = [], []
    moved = {"joined": 0, "left": 0}
    with tenant_context(tenant_id):
        for round_, record_id in enumerate(record_ids):
            started = time.perf_counter()
            db.session.execute(text(
                "UPDATE record SET country = :c, lead_source = :s, status = :st, "
                "updated_at = now() WHERE id = :id AND tenant_id = :t"),
                {"c": rng.choice(["FR", "DE", "US"]), "s": rng.choice(LEAD_SOURCES),
                 "st": rng.choice(["new", "contacted", "qualified"]), "id": record_id,
                 "t": tenant_id})
            refreshed = time.perf_counter()
            result = refresh_records([record_id])
            done = time.perf_counter()
            db.session.commit()
            if round_ >= 5:  # the first rounds warm the connection and the statement cache
                whole.append((done - started) * 1000)
                refresh_only.append((done - refreshed) * 1000)
            moved = {k: moved[k] + result[k] for k in moved}
    if not moved["joined"] and not moved["left"]:
        print("warning: no membership changed during the update rounds", file=sys.stderr)
    return whole, refresh_only


def explain(tenant_id: int) -> None:
    with tenant_context(tenant_id):
        where = and_(Record.tenant_id == tenant_id, Record.record_type == "lead",
                     compile_rules(SIMULATED, fields_for("lead")))
        statements = {
            "simulate count": select(func.count()).select_from(Record).where(where),
            "simulate first 25": select(Record.id).where(where).order_by(
                Record.created_at.desc(), Record.id.desc()).limit(25),
        }
        for name, stmt in statements.items():
            compiled = stmt.compile(db.engine, compile_kwargs={"render_postcompile": True})
            plan = db.session.connection().exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", compiled.params).scalars()
            print(f"--- {name}\n{compiled}\n{compiled.params}\n" + "\n".join(plan),
                  file=sys.stderr)
        db.session.rollback()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="simulate rounds")
    parser.add_argument("--updates", type=int, default=200, help="single-record update rounds")
    parser.add_argument("--explain", action="store_true", help="print query plans to stderr")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)
    app = create_app({"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                      "SECRET_KEY": "bench-" * 8, "WTF_CSRF_ENABLED": False,
                      "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192"})
    started = time.perf_counter()
    ids = build(app, args.records, FILL, None)
    build_seconds = time.perf_counter() - started
    tenant_id, _ = ids["bench"]
    with app.app_context():
        rebuild_ms = activate(tenant_id)
        if args.explain:
            explain(tenant_id)
        simulate_times, matches = time_simulate(tenant_id, args.repeat)
        update_times, refresh_times = time_membership_update(tenant_id, args.updates)
        members = db.session.execute(text(
            "SELECT count(*) FROM segment_member WHERE tenant_id = :t"),
            {"t": tenant_id}).scalar_one()
        db.session.remove()
    summary = {
        "records": args.records,
        "simulate_ms": round(p95(simulate_times), 1),
        "simulate_median_ms": round(statistics.median(simulate_times), 1),
        "simulate_matches": matches,
        "membership_update_ms": round(p95(update_times), 2),
        "membership_update_median_ms": round(statistics.median(update_times), 2),
        "refresh_records_p95_ms": round(p95(refresh_times), 2),
        "active_segments": len(ACTIVE),
        "segment_members": members,
        "rebuild_all_ms": round(rebuild_ms, 1),
        "build_seconds": round(build_seconds, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
