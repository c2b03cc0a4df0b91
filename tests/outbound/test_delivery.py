"""Engine and message events reach a real receiver, signed; failing receivers are retried,
then disabled (and the admins told); replays; two workers deliver each row once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import WebhookVerificationError

from saas.engine import activities, clock
from saas.engine.connect import connect_record
from saas.extensions import db
from saas.messaging import events as message_events
from saas.messaging.models import OutboxMessage
from saas.outbound import delivery, services
from saas.outbound.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.engine.factories import build_sequence
from tests.engine.test_advance import EMAIL, TASK, open_run, record
from tests.outbound.conftest import Receiver, setting


def subscribe(receiver: Receiver, events: list[str]) -> tuple[int, str]:
    subscription, secret = services.create_subscription(receiver.url, "CRM", events)
    return subscription.id, secret


def deliveries() -> list[WebhookDelivery]:
    return db.session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)
                              .execution_options(populate_existing=True)).scalars().all()


def test_an_enrollment_completing_reaches_the_receiver_signed(world, receiver):
    [lead] = world.add(1)
    with world.inside():
        _sub, secret = subscribe(receiver, ["record.connected", "step.completed",
                                            "enrollment.completed"])
        sequence = build_sequence([TASK])
        enrollment = connect_record(record(lead), sequence.lineage_id)
        db.session.commit()
        ids = (enrollment.id, sequence.id, sequence.lineage_id)
        activities.complete_activity(open_run(enrollment.id).id, world.seller.id)
        db.session.commit()
        assert delivery.deliver_due(budget=5) == 3
    enrollment_id, version_id, lineage_id = ids
    payloads = {p["type"]: p for p in receiver.verified(secret)}  # sent at once: any order
    assert sorted(payloads) == ["enrollment.completed", "record.connected", "step.completed"]
    done = payloads["enrollment.completed"]
    assert done["data"] == {"tenant": "acme", "record_id": lead, "enrollment_id": enrollment_id,
                            "sequence_id": lineage_id,
                            "sequence_version_id": version_id, "seller_id": world.seller.id,
                            "status": "completed", "reason": None}
    step = payloads["step.completed"]["data"]
    assert (step["outcome"], step["step_type"]) == ("done", "task")
    first = receiver.requests[0]
    assert first.headers["webhook-signature"].startswith("v1,")
    tampered = first.body.replace(b'"tenant":"acme"', b'"tenant":"evil"')
    assert tampered != first.body
    with pytest.raises(WebhookVerificationError):
        from standardwebhooks.webhooks import Webhook
        Webhook(secret).verify(tampered, first.headers)
    with world.inside():
        assert {d.status for d in deliveries()} == {"delivered"}
        assert db.session.execute(select(func.count()).select_from(WebhookAttempt)).scalar() == 3


def test_an_email_opened_through_the_event_path_is_delivered(world, receiver):
    [lead] = world.add(1)
    with world.inside():
        _sub, secret = subscribe(receiver, ["email.opened", "email.replied"])
        sequence = build_sequence([EMAIL])
        enrollment = connect_record(record(lead), sequence.lineage_id)
        run = open_run(enrollment.id)
        run_id, enrollment_id = run.id, enrollment.id
        db.session.commit()
        assert message_events.record(kind="open", provider="sendgrid",
                                     provider_event_id="ev-open-1", step_run_id=run.id,
                                     data={"ip": "203.0.113.9"})
        db.session.commit()
        delivery.deliver_due(budget=5)
    [opened] = receiver.verified(secret)
    assert opened["type"] == "email.opened"
    assert opened["data"]["step_run_id"] == run_id
    assert opened["data"]["enrollment_id"] == enrollment_id
    assert "203.0.113.9" not in json.dumps(opened)  # ids, never what the provider saw


def test_a_failing_receiver_is_retried_with_backoff(world, receiver):
    receiver.answers = [503]
    with world.inside():
        sub_id, secret = subscribe(receiver, ["record.connected"])
        services.send_test(db.session.execute(select(WebhookSubscription)).scalar_one())
        assert delivery.deliver_once() == 1
        [row] = deliveries()
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 503)
        wait = (row.next_attempt_at - clock.now()).total_seconds()
        assert 10 < wait <= 30  # the first backoff: 15 to 30 s
        assert delivery.deliver_once() == 0  # not due yet
        clock.set_offset(60)
        assert delivery.deliver_once() == 1
        [row] = deliveries()
        assert (row.status, row.attempts, row.last_status_code) == ("delivered", 2, 200)
        codes = db.session.execute(select(WebhookAttempt.status_code)
                                   .order_by(WebhookAttempt.id)).scalars().all()
        assert codes == [503, 200]
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        assert sub.failing_since is None
    assert len(receiver.verified(secret)) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers[
        "webhook-id"]


def test_a_day_of_failures_disables_the_subscription_and_tells_the_admins(world, receiver,
                                                                          client, login):
    receiver.answers = [500] * 10
    with world.inside():
        sub_id, _secret = subscribe(receiver, ["record.connected"])
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        services.send_test(sub)
        delivery.deliver_once()
        assert db.session.execute(select(WebhookSubscription.failing_since)).scalar()
        clock.set_offset(25 * 3600)
        assert delivery.deliver_once() == 1
        [row] = deliveries()
        assert row.status == "failed"  # a day after its first attempt
        sub = db.session.execute(select(WebhookSubscription)
                                 .execution_options(populate_existing=True)).scalar_one()
        assert (sub.status, sub.disabled_reason) == ("disabled", "failing")
        [mail] = db.session.execute(select(OutboxMessage).where(
            OutboxMessage.purpose == "webhook_disabled")).scalars().all()
        assert mail.to_address == "ada@acme.example" and receiver.url in mail.subject
        services.send_test(sub)
        assert delivery.deliver_once() == 0  # a disabled subscription gets nothing
    login(client, world.admin)
    page = client.get("/acme/settings/webhooks").get_data(as_text=True)
    assert "its deliveries failed for a day" in page
    assert client.post(f"/acme/settings/webhooks/{sub_id}/enable").status_code == 302
    with world.inside():
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        assert (sub.status, sub.failing_since) == ("active", None)
        assert delivery.deliver_once() == 1  # the waiting test event goes out now
    assert "failed for a day" not in client.get("/acme/settings/webhooks").get_data(
        as_text=True)


def test_410_gone_disables_at_once(world, receiver):
    receiver.answers = [410]
    with world.inside():
        subscribe(receiver, ["record.connected"])
        services.send_test(db.session.execute(select(WebhookSubscription)).scalar_one())
        delivery.deliver_once()
        [row] = deliveries()
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        assert (row.status, sub.status, sub.disabled_reason) == ("failed", "disabled", "gone")


def test_a_replay_is_a_new_delivery_of_the_same_event(world, receiver):
    with world.inside():
        _sub, secret = subscribe(receiver, ["record.connected"])
        services.send_test(db.session.execute(select(WebhookSubscription)).scalar_one())
        delivery.deliver_once()
        [first] = deliveries()
        again = services.replay(first)
        assert again.id != first.id
        delivery.deliver_once()
        assert [d.status for d in deliveries()] == ["delivered", "delivered"]
    one, two = receiver.verified(secret)
    assert one == two
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers[
        "webhook-id"]


def test_two_workers_claiming_the_same_rows_deliver_each_once(app, world, receiver):
    receiver.delay = 0.02
    with world.inside():
        subscribe(receiver, ["record.connected"])
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        for _ in range(30):
            services.send_test(sub)
    errors = []

    def worker():
        try:
            with app.app_context():
                while delivery.deliver_once(limit=4):
                    pass
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    ids = [json.loads(r.body)["data"]["subscription_id"] for r in receiver.requests]
    webhook_ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 30 and len(set(webhook_ids)) == 30
    with world.inside():
        rows = deliveries()
        assert {(d.status, d.attempts) for d in rows} == {("delivered", 1)}


def test_a_lost_claim_writes_nothing(world, receiver):
    with world.inside():
        subscribe(receiver, ["record.connected"])
        services.send_test(db.session.execute(select(WebhookSubscription)).scalar_one())
        token, [row] = delivery.claim(10)
        db.session.execute(update(WebhookDelivery).values(lease="someone-else"))
        db.session.commit()
        assert delivery.record(row, token, delivery.send(row)) == "lost"
        assert db.session.execute(select(func.count()).select_from(WebhookAttempt)).scalar() == 0


def test_old_delivered_rows_are_purged(world, receiver):
    with world.inside():
        subscribe(receiver, ["record.connected"])
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        services.send_test(sub)
        services.send_test(sub)
        delivery.deliver_once()
        services.send_test(sub)  # waiting: kept whatever its age
        db.session.execute(update(WebhookDelivery).values(
            created_at=clock.now() - timedelta(days=31)))
        db.session.commit()
        assert delivery.purge_delivered() == 2
        assert [d.status for d in deliveries()] == ["pending"]


def test_https_only_refuses_http(app, world, receiver):
    with world.inside(), setting(app, "OUTBOUND_WEBHOOK_HTTPS_ONLY", True):
        with pytest.raises(services.WebhookInvalid, match="https://"):
            subscribe(receiver, ["record.connected"])


def test_the_tick_enqueues_the_delivery_job_on_its_own_queue(app, world, receiver, redis_conn):
    from rq import Queue, SimpleWorker

    from saas.jobs import periodic_tasks

    assert delivery.periodic in periodic_tasks()
    with world.inside():
        subscribe(receiver, ["record.connected"])
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        services.send_test(sub)  # enqueued after its commit
        queue = Queue("webhooks", connection=redis_conn)
        assert queue.job_ids == [delivery.JOB_ID]
        queue.empty()
        delivery.periodic()  # the tick finds it due and enqueues the job again
        assert queue.job_ids == [delivery.JOB_ID]
        SimpleWorker([queue], connection=redis_conn).work(burst=True)
        assert [d.status for d in deliveries()] == ["delivered"]
    assert len(receiver.requests) == 1
