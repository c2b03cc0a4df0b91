"""Sender pools: a seller's automated emails rotate among its senders that are not paused and
within their caps, and each record's thread stays in the mailbox its first email went from."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from saas.auth.models import Tenant
from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.models import Enrollment, StepRun
from saas.engine.senders import Sender
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.timeutil import utcnow
from tests.engine.factories import build_sequence
from tests.engine.test_tick import auto_email, template

OWN = "sam@acme.example"
POOL = ["sam@mail2.acme.example", "sam@mail3.acme.example"]


def _setup(world, n):
    ids = world.add(n)
    with world.inside():
        tenant = db.session.execute(select(Tenant)).scalar_one()
        tenant.settings = {
            "messaging": {"sellers": {str(world.seller.id): {"from_address": OWN}}},
            "sender_caps": {"hourly_cap": 2, "daily_cap": 100, "min_gap_seconds": 0}}
        db.session.add_all([Sender(address=a, seller_id=world.seller.id) for a in POOL])
        tid = template()
        seq = build_sequence([auto_email(tid, "First"), {"type": "wait", "config": {"hours": 2}},
                              auto_email(tid, "Second")])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
    return ids


def _threads(world):
    """{record id: [sender of each sent email, in order]}."""
    with world.inside():
        rows = db.session.execute(select(StepRun.record_id, StepRun.sender).where(
            StepRun.status == "sent").order_by(StepRun.id)).all()
    threads: dict[int, list[str]] = {}
    for record_id, sender in rows:
        threads.setdefault(record_id, []).append(sender)
    return threads


def test_sends_rotate_among_a_sellers_senders_and_each_thread_keeps_its_mailbox(app, world):
    _setup(world, 6)
    with app.app_context():
        assert run_tick()["sends"] == 6  # 2 an hour each: all three senders used
    first = _threads(world)
    assert Counter(s[0] for s in first.values()) == {OWN: 2, POOL[0]: 2, POOL[1]: 2}
    with world.inside():
        kept = dict(db.session.execute(select(Enrollment.record_id, Enrollment.sender)).all())
        assert kept == {r: s[0] for r, s in first.items()}
        froms = {m.step_run_id: m.from_address for m in db.session.execute(
            select(OutboxMessage)).scalars()}
        runs = dict(db.session.execute(select(StepRun.id, StepRun.sender).where(
            StepRun.status == "sent")).all())
        assert all(f"<{runs[i]}>" in f or f == runs[i] for i, f in froms.items())
    with world.inside():  # one mailbox is paused before the second emails
        db.session.execute(Sender.__table__.update().where(Sender.address == POOL[0])
                           .values(paused_at=utcnow()))
        db.session.commit()
    with app.app_context():
        clock.move_forward(timedelta(hours=3))
        assert run_tick()["transitions"] >= 6
        run_tick()
    threads = _threads(world)
    done = {r: s for r, s in threads.items() if len(s) == 2}
    assert len(done) == 4  # the paused mailbox's two records wait for it
    assert all(s[0] == s[1] for s in done.values())  # each thread in one mailbox
    with world.inside():
        waiting = db.session.execute(select(StepRun.sender).where(
            StepRun.status == "pending")).scalars().all()
        assert waiting == [POOL[0], POOL[0]]


def test_a_seller_gets_a_sender_in_settings(app, world, client, login):
    assert login(client, world.manager).status_code == 302
    bad = client.post("/acme/settings/messaging/senders/pool",
                      data={"pool_address": "not an address", "pool_seller": ""})
    assert bad.status_code == 422
    assert "Enter an email address" in bad.get_data(as_text=True)
    assert "Choose a seller." in bad.get_data(as_text=True)
    ok = client.post("/acme/settings/messaging/senders/pool", data={
        "pool_address": "Sam@Mail2.acme.example", "pool_seller": str(world.seller.id)},
        follow_redirects=True)
    assert "sam@mail2.acme.example is one of the seller" in ok.get_data(as_text=True)
    with world.inside():
        assert db.session.execute(select(Sender.seller_id).where(
            Sender.address == "sam@mail2.acme.example")).scalar_one() == world.seller.id
