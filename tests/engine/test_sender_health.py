"""A sender's health: crossing 5% hard bounces over 100 sends pauses it; its queued emails wait
(pending, through ticks), Home and an email tell the managers, resuming sends them; soft bounces."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.models import Enrollment, StepRun
from saas.engine.senders import Sender
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging import events
from saas.messaging.models import OutboxMessage, Suppression
from saas.records.models import Record
from tests.engine.factories import build_sequence
from tests.engine.test_tick import auto_email, template

SENDER = "no-reply@sequences.local"  # the tenant's default from-address


def _sequence(world):
    with world.inside():
        seq = build_sequence([auto_email(template()), {"type": "task", "name": "Call"}])
        db.session.commit()
        return seq.lineage_id


def _connect(world, lineage_id, record_ids):
    with world.inside():
        connect_many(record_ids, lineage_id)
        db.session.commit()


def _bounce(world, n, kind="bounce", offset=0):
    """`n` provider events of `kind` on distinct sent emails."""
    with world.inside():
        runs = db.session.execute(
            select(StepRun.id, Record.email).join(Record, Record.id == StepRun.record_id)
            .where(StepRun.status == "sent").order_by(StepRun.id).offset(offset).limit(n)).all()
        for run in runs:
            events.record(kind=kind, provider="sendgrid", provider_event_id=f"{kind}-{run.id}",
                          step_run_id=run.id, address=run.email)
        db.session.commit()


def _paused(world):
    with world.inside():
        return db.session.execute(select(Sender.paused_at).where(Sender.address == SENDER)
                                  ).scalar_one()


def _emails(world, status):
    with world.inside():
        return db.session.execute(select(func.count()).select_from(StepRun).where(
            StepRun.step_type == "auto_email", StepRun.status == status)).scalar_one()


def test_a_sender_over_5_percent_hard_bounces_is_paused_its_sends_wait_and_resume(
        app, world, client, login):
    ids = world.add(110)
    lineage_id = _sequence(world)
    _connect(world, lineage_id, ids[:100])
    with app.app_context():
        assert run_tick()["sends"] == 100
    assert _emails(world, "sent") == 100
    _bounce(world, 5)  # 5.0%: not past the line
    assert _paused(world) is None
    _bounce(world, 1, offset=5)  # 6 of 100: paused
    assert _paused(world) is not None
    with world.inside():
        stats = db.session.execute(select(Sender.paused_stats)).scalar_one()
        assert stats == {"sends": 100, "bounces": 6, "complaints": 0}
        told = db.session.execute(select(OutboxMessage.to_address).where(
            OutboxMessage.purpose == "sender_paused")).scalars().all()
        assert told == [world.manager.email]  # the manager, not the seller
    _connect(world, lineage_id, ids[100:])
    for _ in range(3):  # several ticks, the clock moving past each recheck: they wait
        with app.app_context():
            assert run_tick()["sends"] == 0
            clock.move_forward(timedelta(minutes=11))
        assert (_emails(world, "pending"), _emails(world, "sent")) == (10, 100)
    with app.app_context():
        assert run_tick()["sends"] == 0  # held again: due in SENDER_RECHECK
    with world.inside():
        waiting = db.session.execute(select(func.count()).select_from(StepRun).where(
            StepRun.status == "pending", StepRun.sender == SENDER)).scalar_one()
        assert waiting == 10
        assert db.session.execute(select(func.count()).select_from(Enrollment).where(
            Enrollment.status == "active")).scalar_one() == 10 + 94  # none dropped

    assert login(client, world.manager).status_code == 302
    home = client.get("/acme/").get_data(as_text=True)
    assert f"Sending from {SENDER} is paused" in home
    with world.inside():
        sender_id = db.session.execute(select(Sender.id)).scalar_one()
    page = client.get(f"/acme/settings/messaging/senders/{sender_id}/resume")
    assert page.status_code == 200 and "Resume sending" in page.get_data(as_text=True)
    done = client.post(f"/acme/settings/messaging/senders/{sender_id}/resume",
                       follow_redirects=True).get_data(as_text=True)
    assert f"Sending from {SENDER} is resumed" in done
    assert _paused(world) is None
    assert f"Sending from {SENDER} is paused" not in client.get("/acme/").get_data(as_text=True)
    with app.app_context():
        assert run_tick()["sends"] == 10  # at once, not after the recheck
    assert (_emails(world, "pending"), _emails(world, "sent")) == (0, 110)
    again = client.post(f"/acme/settings/messaging/senders/{sender_id}/resume",
                        follow_redirects=True).get_data(as_text=True)
    assert "was not paused" in again


def test_complaints_over_0_3_percent_pause_but_not_under_100_sends(app, world):
    ids = world.add(99)
    lineage_id = _sequence(world)
    _connect(world, lineage_id, ids)
    with app.app_context():
        assert run_tick()["sends"] == 99
    _bounce(world, 10)  # 10% of 99 sends: too few sends to judge
    assert _paused(world) is None


def test_spam_complaints_pause_a_sender(app, world):
    ids = world.add(200)
    lineage_id = _sequence(world)
    _connect(world, lineage_id, ids)
    with app.app_context():
        assert run_tick()["sends"] == 200
    _bounce(world, 1, kind="spamreport")  # 0.5%
    assert _paused(world) is not None
    with world.inside():
        assert db.session.execute(select(Sender.paused_reason)).scalar_one() == "complaints"


def _soft(world, address, kind, n):
    with world.inside():
        for _ in range(n):
            _soft.count = getattr(_soft, "count", 0) + 1
            events.record(kind=kind, provider="sendgrid",
                          provider_event_id=f"soft-{_soft.count}", address=address)
            clock.move_forward(timedelta(seconds=1))
        db.session.commit()


def _suppressed(world, address):
    with world.inside():
        return db.session.execute(select(Suppression.reason).where(
            Suppression.address == address)).scalar_one_or_none()


def test_three_soft_bounces_in_a_row_make_an_address_undeliverable(app, world):
    ids = world.add(1, email="soft@example.org")
    lineage_id = _sequence(world)
    _connect(world, lineage_id, ids)
    _soft(world, "soft@example.org", "deferred", 2)
    _soft(world, "soft@example.org", "delivered", 1)  # a delivery in between starts over
    _soft(world, "soft@example.org", "blocked", 2)
    assert _suppressed(world, "soft@example.org") is None
    _soft(world, "soft@example.org", "deferred", 1)
    assert _suppressed(world, "soft@example.org") == "soft_bounces"
    with world.inside():
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
        assert (enrollment.status, enrollment.exit_reason) == ("exited", "bounced")


def test_a_hard_bounce_suppresses_at_once(app, world):
    world.add(1, email="hard@example.org")
    _soft(world, "hard@example.org", "bounce", 1)
    assert _suppressed(world, "hard@example.org") == "bounce"


def test_the_periodic_check_pauses_a_sender_whose_sends_reach_100_after_its_bounces(app, world):
    from saas.engine.sender_health import periodic

    ids = world.add(100)
    lineage_id = _sequence(world)
    _connect(world, lineage_id, ids[:60])
    with app.app_context():
        assert run_tick()["sends"] == 60
    _bounce(world, 6)  # 10% of 60: too few sends yet
    _connect(world, lineage_id, ids[60:])
    with app.app_context():
        assert run_tick()["sends"] == 40
    assert _paused(world) is None  # no bounce came since
    with app.app_context():
        assert periodic() == 1
        assert periodic() == 0  # at most every SENDER_CHECK_SECONDS
    assert _paused(world) is not None


def test_a_seller_with_a_new_address_is_not_held_by_the_old_ones_pause(app, world):
    from saas.auth.models import Tenant
    from saas.timeutil import utcnow

    ids = world.add(2)
    lineage_id = _sequence(world)
    with world.inside():
        db.session.add(Sender(address=SENDER, paused_at=utcnow(), paused_reason="bounces"))
        db.session.commit()
    _connect(world, lineage_id, ids)
    with app.app_context():
        assert run_tick()["sends"] == 0
    with world.inside():
        tenant = db.session.execute(select(Tenant)).scalar_one()
        tenant.settings = {"messaging": {"from_address": "Fresh@Acme.example"}}
        db.session.commit()
    with app.app_context():
        clock.move_forward(timedelta(minutes=11))
        assert run_tick()["sends"] == 2
    with world.inside():
        assert set(db.session.execute(select(StepRun.sender).where(
            StepRun.status == "sent")).scalars()) == {"fresh@acme.example"}
        froms = db.session.execute(select(OutboxMessage.from_address).where(
            OutboxMessage.step_run_id.is_not(None))).scalars().all()
        assert len(froms) == 2 and all("<Fresh@Acme.example>" in f for f in froms)
