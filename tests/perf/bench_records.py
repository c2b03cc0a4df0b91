"""Benchmark: server-rendered record list pages over a large tenant.

    python -m tests.perf.bench_records --records 1000000

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench` database),
inserts the records in bulk SQL (plus a noisy neighbour tenant), then requests list pages the way a
browser does (signed in, full HTML rendered): filtered page 1, a deep page (about page 1,000 via
its keyset cursor), search, sort by name. Prints one JSON line last:
{"records": ..., "list_p95_ms": ..., ...}. Not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from sqlalchemy import text

from saas import create_app
from saas.auth.passwords import hash_password
from saas.extensions import db
from saas.records.models import LEAD_SOURCES
from saas.web.pagination import encode_cursor
from tests.perf.common import build, ensure_database

DATABASE_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
PASSWORD = "bench-password-2026"  # noqa: S105

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
       'FR', 'Europe/Paris', jsonb_build_object('tier', (ARRAY['Gold','Silver'])[1 + g % 2]),
       now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval
FROM generate_series(1, :n) AS g
"""


def deep_cursor(app, tenant_id: int, offset: int) -> str:
    """The keyset cursor of the row at `offset` in 'Trade show, newest first' order."""
    with app.app_context():
        row = db.session.execute(text(
            "SELECT created_at, id FROM record WHERE tenant_id = :t AND record_type = 'lead' "
            "AND lead_source = 'Trade show' ORDER BY created_at DESC, id DESC "
            "OFFSET :o LIMIT 1"), {"t": tenant_id, "o": offset}).one()
        return encode_cursor((row.created_at, row.id))


def timed(client, url: str, repeat: int) -> list[float]:
    client.get(url)  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or b'id="record' not in response.data:
            raise SystemExit(f"{url} answered {response.status_code} without a list")
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    ensure_database(DATABASE_URL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    app = create_app({"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                      "SECRET_KEY": "bench-" * 8, "WTF_CSRF_ENABLED": False,
                      "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192"})
    started = time.perf_counter()
    with app.app_context():
        password_hash = hash_password(PASSWORD)
    ids = build(app, args.records, FILL, password_hash)
    build_seconds = time.perf_counter() - started
    tenant_id, _ = ids["bench"]
    client = app.test_client()
    client.post("/bench/login", data={"email": "manager@bench.example", "password": PASSWORD})
    deep = deep_cursor(app, tenant_id, min(50_000, args.records // len(LEAD_SOURCES) - 100))
    pages = {
        "filtered_page_1": "/bench/leads?lead_source=Trade+show",
        "filtered_page_1000": f"/bench/leads?lead_source=Trade+show&after={deep}",
        "status_owner_page_1": f"/bench/leads?status=qualified&owner_id={ids['bench'][1]}",
        "sorted_by_name": "/bench/leads?sort=name",
        "search": "/bench/leads?q=company+1234",
        "custom_field_filter": "/bench/leads?f=custom.tier&op=equals&v=Gold",
    }
    results = {name: timed(client, url, args.repeat) for name, url in pages.items()}
    everything = [t for times in results.values() for t in times]
    counts = {name: timed(client, url.replace("/leads?", "/leads/count?"), args.repeat)
              for name, url in pages.items() if "after=" not in url}
    summary = {
        "records": args.records,
        "list_p95_ms": round(p95(everything), 1),
        "page_1_p95_ms": round(p95(results["filtered_page_1"]), 1),
        "deep_page_p95_ms": round(p95(results["filtered_page_1000"]), 1),
        "by_page_p95_ms": {name: round(p95(times), 1) for name, times in results.items()},
        "count_p95_ms": round(p95([t for times in counts.values() for t in times]), 1),
        "build_seconds": round(build_seconds, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
