"""A sender's caps (per hour, per day, a minimum gap) and the per-recipient-domain daily cap,
respected when two workers claim at once; what a cap holds back waits, never dropped; and the
caps' settings page."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from saas.auth.models import Tenant
from saas.engine import clock
from saas.engine.caps import claim_sends
from saas.engine.connect import connect_many
from saas.engine.models import StepRun
from saas.engine.send_jobs import claim_due_sends
from saas.engine.senders import Sender
from saas.engine.sends import deliver
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence
from tests.engine.test_tick import auto_email, template


def _setup(world, n, caps, ids=None, **settings):
    ids = ids or world.add(n)
    with world.inside():
        tenant = db.session.execute(select(Tenant)).scalar_one()
        tenant.settings = {**(tenant.settings or {}), "sender_caps": caps, **settings}
        seq = build_sequence([auto_email(template()), {"type": "task", "name": "Call"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
    return ids


def _two_workers_claim(app, tenant_id, limit):
    """Two workers each lock their own due sends (SKIP LOCKED), then claim them at once."""
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def work(slot):
        try:
            with app.app_context(), tenant_context(tenant_id):
                now = clock.now()
                barrier.wait()
                rows = claim_due_sends(tenant_id, now, limit)
                barrier.wait()  # both hold their rows: the claims run together
                claimed[slot], _ = claim_sends(tenant_id, rows, now, f"token{slot}")
                db.session.commit()
                deliver(claimed[slot], f"token{slot}")
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not set(claimed[0]) & set(claimed[1])
    return claimed


def _count(world, *where):
    with world.inside():
        return db.session.execute(select(func.count()).select_from(StepRun).where(
            StepRun.step_type == "auto_email", *where)).scalar_one()


def test_the_hourly_and_daily_caps_hold_under_two_concurrent_workers(app, world):
    _setup(world, 20, {"hourly_cap": 5, "daily_cap": 8, "min_gap_seconds": 0})
    claimed = _two_workers_claim(app, world.tenant.id, 10)
    assert len(claimed[0]) + len(claimed[1]) == 5  # not 5 each
    assert _count(world, StepRun.status == "pending") == 15
    with app.app_context():
        clock.move_forward(timedelta(minutes=30))
    assert sum(map(len, _two_workers_claim(app, world.tenant.id, 10))) == 0  # within the hour
    with app.app_context():
        clock.move_forward(timedelta(minutes=31))
    assert sum(map(len, _two_workers_claim(app, world.tenant.id, 10))) == 3  # the day's 8
    with app.app_context():
        clock.move_forward(timedelta(hours=5))
        assert run_tick()["sends"] == 0  # the day's cap
        clock.move_forward(timedelta(hours=19))
        assert run_tick()["sends"] == 5  # a day after the first: an hour's worth again
    assert _count(world, StepRun.status == "pending") == 7  # waiting, never dropped
    assert _count(world, StepRun.status.in_(("cancelled", "failed", "skipped"))) == 0


def test_the_minimum_gap_holds_under_two_concurrent_workers(app, world):
    _setup(world, 6, {"hourly_cap": 100, "daily_cap": 100, "min_gap_seconds": 30})
    assert sum(map(len, _two_workers_claim(app, world.tenant.id, 3))) == 1
    with world.inside():
        due = db.session.execute(select(func.min(StepRun.due_at)).where(
            StepRun.status == "pending")).scalar_one()
        last = db.session.execute(select(Sender.last_send_at)).scalar_one()
        assert due == last + timedelta(seconds=30)
    with app.app_context():
        clock.move_forward(timedelta(seconds=10))
    assert sum(map(len, _two_workers_claim(app, world.tenant.id, 3))) == 0
    with app.app_context():
        clock.move_forward(timedelta(seconds=21))
    assert sum(map(len, _two_workers_claim(app, world.tenant.id, 3))) == 1
    with world.inside():
        starts = db.session.execute(select(StepRun.started_at).where(
            StepRun.status == "sent").order_by(StepRun.started_at)).scalars().all()
        assert starts[1] - starts[0] >= timedelta(seconds=30)


def test_the_daily_cap_per_recipient_domain(app, world):
    emails = ["p0@big.example", "p1@BIG.example", "p2@big.example", "q0@small.example",
              "q1@small.example"]
    ids = [world.add(1, email=email)[0] for email in emails]
    _setup(world, 0, {"hourly_cap": 100, "daily_cap": 100, "min_gap_seconds": 0},
           domain_daily_cap=2, ids=ids)
    with app.app_context():
        assert run_tick()["sends"] == 4  # two to big.example, two to small.example
    with world.inside():
        from saas.records.models import Record
        waiting = db.session.execute(select(Record.email).join(
            StepRun, StepRun.record_id == Record.id).where(StepRun.status == "pending")
        ).scalars().all()
        assert waiting == ["p2@big.example"]
    with app.app_context():
        clock.move_forward(timedelta(days=1))
        assert run_tick()["sends"] == 1  # the next day


def test_caps_are_set_in_settings_with_messages_next_to_the_fields(app, world, client, login):
    assert login(client, world.manager).status_code == 302
    page = client.get("/acme/settings/messaging/senders").get_data(as_text=True)
    assert "no-reply@sequences.local" in page and "Emails per hour" in page
    bad = client.post("/acme/settings/messaging/senders/caps", data={
        "address": "no-reply@sequences.local", "daily_cap": "lots", "hourly_cap": "0",
        "min_gap_seconds": "5"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Enter a whole number." in text and "Enter a number from 1 to 10000." in text
    with world.inside():
        assert db.session.execute(select(func.count()).select_from(Sender)).scalar_one() == 0
    ok = client.post("/acme/settings/messaging/senders/caps", data={
        "address": "no-reply@sequences.local", "daily_cap": "50", "hourly_cap": "",
        "min_gap_seconds": "5"}, follow_redirects=True)
    assert "are saved" in ok.get_data(as_text=True)
    with world.inside():
        sender = db.session.execute(select(Sender)).scalar_one()
        assert (sender.daily_cap, sender.hourly_cap, sender.min_gap_seconds) == (50, None, 5)
    stranger = client.post("/acme/settings/messaging/senders/caps", data={
        "address": "someone@else.example", "daily_cap": "5"}, follow_redirects=True)
    assert "is not one of your senders" in stranger.get_data(as_text=True)
    assert client.post("/acme/settings/messaging/senders/domain-cap",
                       data={"domain_daily_cap": "-3"}).status_code == 422
    client.post("/acme/settings/messaging/senders/domain-cap", data={"domain_daily_cap": "40"})
    with world.inside():
        assert db.session.execute(select(Tenant)).scalar_one().settings["domain_daily_cap"] == 40
    seller = app.test_client()
    login(seller, world.seller)
    assert seller.get("/acme/settings/messaging/senders").status_code == 403
