"""The tick: sends through the outbox, windows and caps deferring work, DST, fairness, and two
ticks at once claiming nothing twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from saas.auth.models import Tenant
from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.enroll import ConnectRefused
from saas.engine.models import StepRun
from saas.engine.tick import claim_due, run_tick
from saas.engine.windows import add_wait, next_opening
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.sequences.models import Sequence
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence


def template():
    t = MessageTemplate(kind="email", name="Hello", subject="Hi {{ record.first_name }}",
                        html_body="<p>Hello {{ record.first_name }}</p>", text_body="")
    db.session.add(t)
    db.session.flush()
    return t.id


def auto_email(template_id, name="Auto"):
    return {"type": "auto_email", "name": name, "config": {"template_id": template_id}}


def statuses(sequence_id):
    return dict(db.session.execute(select(StepRun.status, func.count()).where(
        StepRun.sequence_id == sequence_id).group_by(StepRun.status)).all())


def test_automated_sends_go_through_the_outbox_once(app, world):
    ids = world.add(5)
    with world.inside():
        seq = build_sequence([auto_email(template()),
                              {"type": "wait", "config": {"hours": 1}},
                              auto_email(template(), "Second")])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        seq_id = seq.id
    with app.app_context():
        assert run_tick()["sends"] == 5
        assert run_tick()["sends"] == 0
        clock.move_forward(timedelta(hours=1, minutes=1))
        assert run_tick()["sends"] == 5
    with world.inside():
        messages = db.session.execute(select(OutboxMessage)).scalars().all()
        assert len(messages) == 10 and len({m.step_run_id for m in messages}) == 10
        assert messages[0].subject == "Hi First0"
        assert statuses(seq_id) == {"sent": 10, "completed": 5}


def test_window_in_the_recipients_zone_defers_a_send_to_its_opening(app, world):
    # Monday 2026-11-23 20:00 UTC is 21:00 in Paris and 15:00 in New York.
    monday_evening = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    window = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}
    assert next_opening(monday_evening, "Europe/Paris", window) == datetime(
        2026, 11, 24, 8, 0, tzinfo=UTC)
    assert next_opening(monday_evening, "America/New_York", window) == monday_evening
    friday_evening = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    assert next_opening(friday_evening, "Europe/Paris", window) == datetime(
        2026, 11, 30, 8, 0, tzinfo=UTC)
    ids = world.add(2, time_zone=lambda i: ["Europe/Paris", "America/New_York"][i])
    with app.app_context():
        clock.set_offset((monday_evening - clock.now()).total_seconds() + clock.offset_seconds())
    with world.inside():
        seq = build_sequence([auto_email(template())], settings={"window": window})
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        dues = dict(db.session.execute(select(StepRun.record_id, StepRun.due_at)).all())
        assert dues[ids[0]] == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        assert abs(dues[ids[1]] - monday_evening) < timedelta(seconds=5)
    with app.app_context():
        assert run_tick()["sends"] == 1  # New York now, Paris tomorrow at nine


def test_a_one_day_wait_across_the_dst_change_ends_at_the_same_local_time():
    # Paris leaves summer time on Sunday 2026-10-25: Saturday 09:00 CEST -> Sunday 09:00 CET.
    start = datetime(2026, 10, 24, 7, 0, tzinfo=UTC)  # 09:00 in Paris
    due = add_wait(start, "Europe/Paris", days=1)
    assert due == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # 25 hours later
    assert add_wait(start, "Europe/Paris", hours=24) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    spring = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # Saturday 09:00 CET
    assert add_wait(spring, "Europe/Paris", days=1) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_a_wait_in_days_started_before_the_change_is_due_at_local_time(app, world):
    record_id = world.add(1, time_zone="Europe/Paris")[0]
    saturday = datetime(2026, 10, 24, 7, 0, tzinfo=UTC)
    with app.app_context():
        clock.set_offset((saturday - clock.now()).total_seconds() + clock.offset_seconds())
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"days": 1, "hours": 0}},
                              {"type": "task", "name": "Task"}])
        connect_many([record_id], seq.lineage_id)
        db.session.commit()
        due = db.session.execute(select(StepRun.due_at)).scalar_one()
        assert abs(due - datetime(2026, 10, 25, 8, 0, tzinfo=UTC)) < timedelta(seconds=5)
    with app.app_context():
        clock.move_forward(timedelta(hours=24, minutes=30))  # 24.5 h: not yet (25 h that day)
        assert run_tick()["transitions"] == 0
        clock.move_forward(timedelta(minutes=31))
        assert run_tick()["transitions"] == 1


def test_daily_caps_defer_sends_to_the_next_day_never_drop_them(app, world):
    ids = world.add(5)
    with world.inside():
        tenant = db.session.execute(select(Tenant)).scalar_one()
        tenant.settings = {"daily_send_cap": 3}
        seq = build_sequence([auto_email(template())], settings={"seller_daily_cap": 2})
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        seq_id = seq.id
    with app.app_context():
        counts = run_tick()
        assert (counts["sends"], counts["deferred"]) == (2, 3)  # the seller's cap first
    with world.inside():
        assert statuses(seq_id) == {"sent": 2, "pending": 3}
        db.session.execute(update(Tenant).values(settings={"daily_send_cap": 3}))
        db.session.execute(update(StepRun).where(StepRun.status == "sent")
                           .values(seller_id=None))  # another seller's sends count for the tenant
        db.session.commit()
    with app.app_context():
        clock.move_forward(timedelta(days=1, hours=1))
        counts = run_tick()
        assert counts["sends"] == 2  # the seller may send 2 a day again
        clock.move_forward(timedelta(days=1))
        assert run_tick()["sends"] == 1
    with world.inside():
        assert statuses(seq_id) == {"sent": 5}


def test_one_tenants_backlog_does_not_starve_another(app, world, make_tenant, make_user,
                                                     add_records):
    other = make_tenant("small")
    big_ids = world.add(30)
    small_ids = add_records(other, 3, owner_id=make_user(other).id)
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
        connect_many(big_ids, seq.lineage_id)
        db.session.commit()
    with app.app_context(), tenant_context(other.id):
        small = build_sequence([{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
        connect_many(small_ids, small.lineage_id)
        db.session.commit()
        small_id = small.id
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        # A budget spent after one batch: each tick does one tenant's batch, and the order
        # rotates from tick to tick, so the small tenant is never always last.
        moved = [run_tick(per_tenant=10, budget_seconds=0.0001)["transitions"]
                 for _ in range(2)]
        assert sorted(moved) == [3, 10]  # the big tenant's 10, then all 3 of the small one's
    with app.app_context(), tenant_context(other.id):
        assert statuses(small_id) == {"completed": 3, "open": 3}
    with app.app_context():  # with room in the budget, one round takes a batch of each
        clock.move_forward(timedelta(hours=1))
        assert run_tick(per_tenant=10)["transitions"] == 20


def test_two_ticks_at_once_claim_nothing_twice(app, world):
    ids = world.add(400)
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        seq_id = seq.id
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
    tenant_id = world.tenant.id
    claimed: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def claim(slot):
        with app.app_context(), tenant_context(tenant_id):
            barrier.wait()
            rows = claim_due(tenant_id, clock.now(), 300)
            claimed[slot] = [r.id for r in rows]
            barrier.wait()  # both hold their locks at the same time
            db.session.rollback()
            db.session.remove()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 400

    results = []

    def tick():
        with app.app_context():
            results.append(run_tick(per_tenant=50))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["transitions"] for r in results) == 400
    # Ticks never overlap (a PostgreSQL lease): one did the work, the other may have been
    # turned away while it ran.
    assert all(r["skipped"] or r["transitions"] for r in results)
    with world.inside():
        assert statuses(seq_id) == {"completed": 400, "open": 400}


def test_a_days_wait_reached_in_the_tick_is_due_at_local_time_across_dst(app, world):
    record_id = world.add(1, time_zone="Europe/Paris")[0]
    friday = datetime(2026, 10, 23, 7, 0, tzinfo=UTC)  # 09:00 in Paris, summer time
    with app.app_context():
        clock.set_offset((friday - clock.now()).total_seconds() + clock.offset_seconds())
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"days": 1, "hours": 0}},
                              {"type": "wait", "name": "Second", "config": {"days": 1}},
                              {"type": "task", "name": "Task"}])
        connect_many([record_id], seq.lineage_id)
        db.session.commit()
    with app.app_context():
        clock.move_forward(timedelta(days=1))  # Saturday 09:00 CEST: the first wait ends
        assert run_tick()["transitions"] == 1
    with world.inside():
        due = db.session.execute(select(StepRun.due_at).where(
            StepRun.status == "waiting")).scalar_one()
        # Sunday 09:00 CET (after the change) = 08:00 UTC: 25 hours after Saturday 07:00 UTC.
        assert abs(due - datetime(2026, 10, 25, 8, 0, tzinfo=UTC)) < timedelta(seconds=10)


def test_a_tick_with_two_workers_moves_each_run_on_once(app, world, make_tenant, make_user,
                                                        add_records):
    other = make_tenant("other")
    other_ids = add_records(other, 150, owner_id=make_user(other).id)
    ids = world.add(450)
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        seq_id = seq.id
    with app.app_context(), tenant_context(other.id):
        small = build_sequence([{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
        connect_many(other_ids, small.lineage_id)
        db.session.commit()
        small_id = small.id
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        totals = run_tick(per_tenant=40, workers=2)
        assert totals["transitions"] == totals["claimed"] == 600
        assert run_tick(workers=2)["claimed"] == 0
    with world.inside():
        assert statuses(seq_id) == {"completed": 450, "open": 450}
    with app.app_context(), tenant_context(other.id):
        assert statuses(small_id) == {"completed": 150, "open": 150}


@pytest.mark.parametrize("action", ["delete", "deactivate"])
def test_a_connect_under_way_holds_its_sequence(app, world, action):
    """Connecting locks the version FOR KEY SHARE (no foreign key checks it per row): a
    deletion waits, then finds the records running and refuses; a deactivation waits, then
    disconnects them too. Nothing is left pointing at a missing or inactive sequence."""
    from saas.errors import ServiceError
    from saas.sequences import services as sequences

    ids = world.add(50)
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
        seq_id, lineage = seq.id, seq.lineage_id
        db.session.commit()
    tenant_id = world.tenant.id
    connected, acted = threading.Event(), threading.Event()
    outcome: dict = {}

    def connect():
        with app.app_context(), tenant_context(tenant_id):
            outcome["connected"] = connect_many(ids, lineage)["connected"]
            connected.set()
            acted.wait(1.0)  # the other transaction is blocked behind this one meanwhile
            outcome["waited"] = not acted.is_set()
            db.session.commit()
            db.session.remove()

    def act():
        connected.wait(5)
        with app.app_context(), tenant_context(tenant_id):
            sequence = db.session.execute(select(Sequence).where(Sequence.id == seq_id)
                                          ).scalar_one()
            try:
                if action == "delete":
                    sequences.delete_sequence(sequence)
                else:
                    outcome["disconnected"] = sequences.deactivate(sequence)
            except ServiceError as refused:
                outcome["refused"] = str(refused)
            acted.set()
            db.session.remove()

    threads = [threading.Thread(target=connect), threading.Thread(target=act)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome["connected"] == 50 and outcome["waited"]
    with world.inside():
        if action == "delete":
            assert "50 records are running" in outcome["refused"]
            assert statuses(seq_id) == {"waiting": 50}
        else:
            assert outcome["disconnected"] == 50
            assert statuses(seq_id) == {"cancelled": 50}
            with pytest.raises(ConnectRefused):
                connect_many(ids, lineage)
