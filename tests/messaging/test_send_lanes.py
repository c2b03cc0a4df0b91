"""A tenant with more sends due than a batch is served by SEND_TENANT_LANES lanes at once
(saas/engine/send_jobs.py `send_for`): the lanes' claims overlap in time and never share a send,
every email goes once, and the lanes share the turn's provider calls (the tenant's concurrency
is the same with one lane or two)."""

from __future__ import annotations

import threading

import pytest

from saas.engine import hooks
from saas.engine.send_sweeps import send_sweep
from tests.messaging.test_send_sweeps import _runs
from tests.messaging.test_send_sweeps import _tenant as sweep_tenant


@pytest.fixture
def lanes(app):
    keys = ("SENDS_OFF_TICK", "SEND_SWEEP_SHARDS", "SEND_SWEEP_TENANTS", "SEND_TENANT_SLICE",
            "SEND_TENANT_LANES", "SEND_CONCURRENCY", "SEND_CHUNK", "PROVIDER_TIMEOUT_SECONDS")
    saved = {k: app.config[k] for k in keys}
    app.config.update(SENDS_OFF_TICK=True, SEND_SWEEP_SHARDS=1, SEND_SWEEP_TENANTS=2,
                      SEND_TENANT_SLICE=30, SEND_TENANT_LANES=2, SEND_CHUNK=3)
    yield app.config
    app.config.update(saved)


def _tenant(app, make_tenant, emails: int) -> int:
    return sweep_tenant(app, make_tenant, "bigco", "SG.big-key", emails)


def test_two_lanes_claim_at_once_and_never_share_a_send(app, lanes, make_tenant, fake):
    """After the turn's first claim (a whole batch: the second lane starts), the next claim of
    each lane waits (after its commit) until the other lane has claimed too: that only happens
    if they run at once. Their claims are disjoint, cover every send, and each email reaches
    the provider once."""
    tenant_id = _tenant(app, make_tenant, 12)
    claims: list[tuple[str, list[int]]] = []
    both = threading.Barrier(2, timeout=10)
    waited: set[str] = set()
    met = []

    def after_claim(run_ids):
        name = threading.current_thread().name
        claims.append((name, list(run_ids)))
        if len(claims) > 1 and name not in waited and len(waited) < 2:
            waited.add(name)
            try:
                both.wait()
                met.append(name)
            except threading.BrokenBarrierError:
                pass

    hooks.install("after_claim", after_claim)
    with app.app_context():
        totals = send_sweep(0, budget=30)
    assert totals["sent"] == 12 and totals["failed_tenants"] == 0
    assert len(met) == 2  # the two lanes held a claim at the same time
    assert len({name for name, _ in claims}) == 2
    claimed = [run_id for _, run_ids in claims for run_id in run_ids]
    assert len(claimed) == len(set(claimed)) == 12  # disjoint, and every send
    assert _runs(app, tenant_id) == [("auto_email", "sent")] * 12 + [("task", "open")] * 12
    assert len(fake.per_step_run) == 12 and set(fake.per_step_run.values()) == {1}


def test_the_lanes_share_the_tenants_provider_calls(app, lanes, make_tenant, fake):
    """SEND_CONCURRENCY 2 over SEND_SWEEP_TENANTS 2: one call at a time for the tenant. With
    its provider taking 0.2 s a message, no two of its emails reach the provider closer than
    that, though two lanes deliver them."""
    lanes.update(SEND_CONCURRENCY=2, PROVIDER_TIMEOUT_SECONDS=5)
    tenant_id = _tenant(app, make_tenant, 8)
    fake.slow_accounts["Bearer SG.big-key"] = 0.2
    names: set[str] = set()
    hooks.install("after_claim", lambda run_ids: names.add(threading.current_thread().name))
    with app.app_context():
        totals = send_sweep(0, budget=30)
    assert totals["sent"] == 8
    assert len(names) == 2  # both lanes delivered
    received = sorted(e["received_at"] for e in fake.emails())
    assert len(received) == 8
    gaps = [b - a for a, b in zip(received, received[1:], strict=False)]
    assert min(gaps) >= 0.15, gaps
    assert _runs(app, tenant_id) == [("auto_email", "sent")] * 8 + [("task", "open")] * 8


def test_one_lane_when_a_batch_takes_all_that_is_due(app, lanes, make_tenant, fake):
    """Three sends and a batch of 3: the first claim took them all, so no second lane starts
    (a small tenant's turn costs no extra connection or claim)."""
    tenant_id = _tenant(app, make_tenant, 2)
    names: list[str] = []
    hooks.install("after_claim", lambda run_ids: names.append(threading.current_thread().name))
    with app.app_context():
        totals = send_sweep(0, budget=30)
    assert totals["sent"] == 2 and len(names) == 1
    assert not names[0].startswith("send-lane")
    assert _runs(app, tenant_id) == [("auto_email", "sent")] * 2 + [("task", "open")] * 2


def test_a_workers_connection_pool_holds_every_lane():
    """Eight tenants at once, in two lanes each, plus the sweep's own: the pool has room for
    them all (with the usual 5 + 10, two of those 17 would wait for a connection)."""
    from saas.config import load

    settings = load({"APP_ENV": "test", "DATABASE_URL": "postgresql+psycopg://db/x",
                     "SEND_SWEEP_TENANTS": "8", "SEND_TENANT_LANES": "2"})
    options = settings.as_flask_config()["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] + options["max_overflow"] >= 1 + 8 * 2
    default = load({"APP_ENV": "test", "DATABASE_URL": "postgresql+psycopg://db/x"})
    options = default.as_flask_config()["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (options["pool_size"], options["max_overflow"]) == (5, 10)
