"""The outbox row is written with its event or not at all, set-based on the batch path, and
not at all without a subscription for that event."""

from __future__ import annotations

from sqlalchemy import event, func, select

from saas.engine import activities, clock
from saas.engine.abtests import stop_test
from saas.engine.connect import connect_many, connect_record
from saas.engine.models import AbTest, Enrollment
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.outbound import outbox, services
from saas.outbound.models import WebhookDelivery
from saas.sequences.models import Step
from tests.engine.factories import build_sequence
from tests.engine.test_advance import TASK, open_run, record, wait


def count(event_type: str | None = None) -> int:
    stmt = select(func.count()).select_from(WebhookDelivery)
    if event_type:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    return db.session.execute(stmt).scalar()


def test_the_delivery_rolls_back_with_its_event(world, receiver):
    [lead] = world.add(1)
    with world.inside():
        services.create_subscription(receiver.url, "", ["step.completed",
                                                        "enrollment.completed"])
        enrollment = connect_record(record(lead), build_sequence([TASK]).lineage_id)
        db.session.commit()
        run_id = open_run(enrollment.id).id
        activities.complete_activity(run_id, world.seller.id)
        assert count() == 2  # written in the event's transaction...
        db.session.rollback()
        assert count() == 0  # ...and gone with it
        assert open_run(enrollment.id).id == run_id
        activities.complete_activity(run_id, world.seller.id)
        db.session.commit()
        assert count() == 2


def test_nothing_is_written_without_a_subscription_for_the_event(world, receiver):
    ids = world.add(3)
    with world.inside():
        services.create_subscription(receiver.url, "", ["email.replied"])
        other = services.create_subscription(receiver.url, "", ["enrollment.completed"])[0]
        services.delete_subscription(other)
        sequence = build_sequence([TASK])
        connect_many(ids, sequence.lineage_id)
        db.session.commit()
        for run_id in [open_run(e).id for e in db.session.execute(
                select(Enrollment.id)).scalars()]:
            activities.complete_activity(run_id, world.seller.id)
        db.session.commit()
        assert count() == 0


def test_without_subscriptions_a_transaction_asks_once(world):
    """The engine's listeners read the tenant's subscriptions once per transaction."""
    with world.inside():
        cache = db.session.info
        assert not outbox.listening(("record.connected",))
        assert cache[outbox.CACHE_KEY] == {world.tenant.id: ("", {})}
        cache[outbox.CACHE_KEY][world.tenant.id] = ("acme", {"record.connected": [1]})
        assert outbox.listening(("record.connected",))  # answered from the cache, no query
        db.session.commit()
        assert outbox.CACHE_KEY not in cache  # forgotten when the transaction ends
        assert not outbox.listening(("record.connected",))


def test_the_batch_path_writes_every_row_at_once(world, receiver):
    ids = world.add(300)
    with world.inside():
        services.create_subscription(receiver.url, "", ["record.connected", "step.completed",
                                                        "enrollment.completed"])
        sequence = build_sequence([wait(hours=1)])
        lineage = sequence.lineage_id
        connect_many(ids, lineage)
        db.session.commit()
        assert count("record.connected") == 300
        clock.set_offset(2 * 3600)
        run_tick()
        assert count("step.completed") == 300
        assert count("enrollment.completed") == 300
        data = db.session.execute(select(WebhookDelivery.payload).where(
            WebhookDelivery.event_type == "enrollment.completed").limit(1)).scalar()
        assert data["data"]["sequence_id"] == lineage


def test_an_ab_test_stopped_by_a_person_is_concluded(world, receiver):
    ab = {"type": "ab_test", "name": "Subject test",
          "config": {"display_name": "Subject", "split_a": 50, "metric": "opens",
                     "ends": "auto", "end_at": None, "default_version": "A",
                     "versions": {"A": {"type": "email", "name": "Short", "template_id": None},
                                  "B": {"type": "email", "name": "Long", "template_id": None}}}}
    with world.inside():
        services.create_subscription(receiver.url, "", ["abtest.concluded"])
        sequence = build_sequence([ab])
        step_id = db.session.execute(select(Step.id).where(Step.sequence_id == sequence.id)
                                     ).scalar_one()
        test = AbTest(step_id=step_id, sequence_id=sequence.id, status="running", stats={})
        db.session.add(test)
        db.session.flush()
        stop_test(test.id, "B", world.admin.id)
        db.session.commit()
        [body] = db.session.execute(select(WebhookDelivery.payload)).scalars().all()
        assert body["type"] == "abtest.concluded"
        assert (body["data"]["outcome"], body["data"]["winner"]) == ("stopped", "B")


def test_without_a_subscription_the_batch_path_asks_once_per_transaction(world):
    ids = world.add(300)
    statements = []

    def seen(conn, cursor, statement, *args):
        if "webhook_" in statement:
            statements.append(statement.split()[0])

    with world.inside():
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            sequence = build_sequence([wait(hours=1)])
            connect_many(ids, sequence.lineage_id)
            db.session.commit()
            clock.set_offset(2 * 3600)
            totals = run_tick()
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        assert count() == 0
    # the connect's transaction, then one per tick batch that moved something
    assert statements == ["SELECT"] * len(statements)
    assert 1 <= len(statements) <= 4, (statements, totals)
