"""Send sweeps (saas/engine/send_sweeps.py): one job serves the due sends of many tenants in
turn. One tenant's slow or failing provider never delays another tenant's sends in the same
sweep, the turns go round fairly, and a sweep that dies half-way loses nothing and sends nothing
twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from saas.engine import clock, hooks
from saas.engine.models import StepRun
from saas.engine.send_sweeps import send_sweep
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.tenancy import current_tenant_id, tenant_context
from tests.messaging import builders
from tests.messaging.conftest import configure


@pytest.fixture
def sweeps(app):
    """Sends off the tick, every tenant in one shard, four tenants served at once."""
    keys = ("SENDS_OFF_TICK", "SEND_SWEEP_SHARDS", "SEND_SWEEP_TENANTS", "SEND_TENANT_SLICE",
            "SEND_CONCURRENCY", "SEND_CHUNK", "PROVIDER_TIMEOUT_SECONDS")
    saved = {k: app.config[k] for k in keys}
    app.config.update(SENDS_OFF_TICK=True, SEND_SWEEP_SHARDS=1, SEND_SWEEP_TENANTS=4,
                      SEND_TENANT_SLICE=2)
    yield app.config
    app.config.update(saved)


def _tenant(app, make_tenant, slug, key, emails):
    tenant = make_tenant(slug)
    configure(app, tenant.id, sendgrid_key=key, from_address=f"hello@{slug}.example")
    with app.app_context(), tenant_context(tenant.id):
        template = builders.email_template()
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}},
                                 {"type": "task", "name": "Call them"}])
        builders.connect([builders.lead(f"{i}@{slug}.example") for i in range(emails)], seq)
        db.session.commit()
    return tenant.id


def _runs(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return sorted(db.session.execute(select(StepRun.step_type, StepRun.status)).all())


def _received(fake, domain):
    return [r["received_at"] for r in fake.emails() if r["to"][0].endswith(domain)]


def test_a_slow_provider_does_not_delay_another_tenants_sends_in_the_same_sweep(
        app, sweeps, make_tenant, fake):
    """Tenant A's provider takes 0.7 s per message, one call at a time; tenant B's answers
    at once. B's two emails are with its provider before A's second one is (the sweep serves
    both at once, each with its own provider-call threads), and every email goes once."""
    sweeps.update(SEND_CONCURRENCY=1, PROVIDER_TIMEOUT_SECONDS=5)
    slow = _tenant(app, make_tenant, "slowco", "SG.slow-key", 3)
    fast = _tenant(app, make_tenant, "fastco", "SG.fast-key", 2)
    fake.slow_accounts["Bearer SG.slow-key"] = 0.7
    with app.app_context():
        totals = send_sweep(0, budget=30)
    assert totals["sent"] == 5 and totals["failed_tenants"] == 0
    slow_at, fast_at = sorted(_received(fake, "slowco.example")), _received(fake, "fastco.example")
    assert len(slow_at) == 3 and len(fast_at) == 2
    assert max(fast_at) < slow_at[1]  # B did not queue behind A's calls
    assert _runs(app, fast) == [("auto_email", "sent")] * 2 + [("task", "open")] * 2
    assert _runs(app, slow) == [("auto_email", "sent")] * 3 + [("task", "open")] * 3
    assert set(fake.per_step_run.values()) == {1}


def test_a_failing_provider_is_one_tenants_trouble(app, sweeps, make_tenant, fake):
    """Tenant A's provider answers 429 to everything: A's sends wait for its backoff, pending
    again (the attempt not counted against A's messages not tried), while B's go out in the same
    sweep, and the sweep does not spin on A."""
    sweeps.update(SEND_CONCURRENCY=2)
    limited = _tenant(app, make_tenant, "busyco", "SG.busy-key", 3)
    fine = _tenant(app, make_tenant, "fineco", "SG.fine-key", 3)
    fake.failing_accounts["Bearer SG.busy-key"] = "429"
    with app.app_context():
        totals = send_sweep(0, budget=10)
    assert totals["failed_tenants"] == 0 and totals["sent"] == 3
    assert _runs(app, fine) == [("auto_email", "sent")] * 3 + [("task", "open")] * 3
    assert _runs(app, limited) == [("auto_email", "pending")] * 3
    with app.app_context(), tenant_context(limited):
        later = db.session.execute(select(StepRun.due_at)).scalars().all()
        assert all(due > clock.now() for due in later)  # its backoff, not now
    assert totals["turns"] <= 3  # A is not taken again and again while it waits


def test_turns_go_round_the_tenants(app, sweeps, make_tenant):
    """A tenant with many sends gets one chunk per turn and goes back in line: the others'
    single emails go out after its first turn, not after all of its sends. And the next sweep
    starts the round from another tenant."""
    sweeps.update(SEND_SWEEP_TENANTS=1, SEND_CHUNK=5, SEND_TENANT_SLICE=0.001)
    big = _tenant(app, make_tenant, "bigco", "", 15)  # no key: the outbox delivers
    small = [_tenant(app, make_tenant, f"small{i}", "", 1) for i in range(2)]
    turns: list[tuple[int, int]] = []
    hooks.install("after_claim", lambda run_ids, **_: turns.append(
        (current_tenant_id(), len(run_ids))))
    with app.app_context():
        totals = send_sweep(0, budget=30)
    assert totals["sent"] == 17 and totals["tenants"] == 3
    assert sorted(turns) == sorted([(big, 5)] * 3 + [(s, 1) for s in small])
    second_big_turn = [i for i, (t, _) in enumerate(turns) if t == big][1]
    assert all(turns.index((s, 1)) < second_big_turn for s in small)
    firsts = []
    for _ in range(2):  # two more sweeps over the same three tenants: each starts elsewhere
        for tenant_id in [big, *small]:
            with app.app_context(), tenant_context(tenant_id):
                template = builders.email_template()
                seq = builders.sequence([{"type": "auto_email",
                                          "config": {"template_id": template.id}}])
                builders.connect([builders.lead(f"again{len(firsts)}@t{tenant_id}.example")],
                                 seq)
                db.session.commit()
        turns.clear()
        with app.app_context():
            send_sweep(0, budget=30)
        firsts.append(turns[0][0])
    assert firsts[0] != firsts[1]


@pytest.mark.parametrize(("point", "key"), [("after_claim", ""), ("before_call", "SG.dying-key"),
                                          ("after_call", "SG.dying-key")])
def test_a_sweep_that_dies_half_way_loses_nothing_and_sends_nothing_twice(
        app, sweeps, make_tenant, fake, point, key):
    """Tenant A's turn dies at `point`: after its claim was committed (A delivers through the
    outbox), before its provider is called, or after the provider took the messages and before
    the outcomes are written. B's sends in the same sweep go out. A's runs stay claimed (no
    other sweep takes them) until their lease ends; then what never left the house goes again,
    once, and what may have reached a provider is `unknown` (never resent without the
    provider's word, saas/engine/uncertain.py): no message twice, none lost."""
    from saas.messaging.models import OutboxMessage

    sweeps.update(SEND_CONCURRENCY=2)
    dying = _tenant(app, make_tenant, "dyingco", key, 2)
    other = _tenant(app, make_tenant, "otherco", "SG.other-key", 2)

    def die(**_):
        if current_tenant_id() == dying:
            raise RuntimeError("the worker died here")

    hooks.install(point, die)
    with app.app_context():
        totals = send_sweep(0, budget=10)
    hooks.clear()
    assert totals["failed_tenants"] == 1
    assert _runs(app, other) == [("auto_email", "sent")] * 2 + [("task", "open")] * 2
    assert _runs(app, dying) == [("auto_email", "sending")] * 2
    called = 2 if point == "after_call" else 0
    assert len(_received(fake, "dyingco.example")) == called
    with app.app_context():  # nothing for A until the lease ends
        send_sweep(0, budget=5)
    assert _runs(app, dying) == [("auto_email", "sending")] * 2
    with app.app_context():
        clock.move_forward(timedelta(seconds=float(app.config["ENGINE_SENDING_LEASE"]) + 5))
        run_tick()  # the lease ended: recover_stale settles A's claims
        send_sweep(0, budget=10)
    if key:  # it may have reached the provider: a person (or the provider's events) decides
        assert _runs(app, dying) == [("auto_email", "unknown")] * 2
    else:  # the outbox had nothing: it went again, once
        assert _runs(app, dying) == [("auto_email", "sent")] * 2 + [("task", "open")] * 2
        with app.app_context(), tenant_context(dying):
            stored = db.session.execute(select(OutboxMessage.step_run_id)).scalars().all()
        assert len(stored) == len(set(stored)) == 2
    assert len(_received(fake, "dyingco.example")) == called
    assert set(fake.per_step_run.values()) == {1}


def test_a_turn_costs_the_same_statements_for_every_tenant_and_none_per_email(
        app, sweeps, make_tenant):
    """A tenant's turn is a fixed set of statements (about 30 with the sweep's scans: see
    docs/scaling.md), the same for every tenant, and an email more in the chunk adds only its
    outbox rows (the claim's write, the stored message, its id): no statement per message
    anywhere else, no statement per tenant outside its turn."""
    from sqlalchemy import event

    sweeps.update(SEND_SWEEP_TENANTS=1)
    counts = []
    for emails in (1, 1, 1, 5):
        _tenant(app, make_tenant, f"count{len(counts)}", "", emails)
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args, seen=seen, **_kwargs):
            seen.append(statement)

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                totals = send_sweep(0, budget=30)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
        assert totals["turns"] == 1 and totals["sent"] == emails
        counts.append(len(seen))
    assert counts[0] == counts[1] == counts[2] <= 40
    assert counts[3] - counts[0] <= 3 * 4
