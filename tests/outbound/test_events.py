"""Each kind of event writes its delivery: an automated email sent (through the outbox), an
out-of-office reply, a record leaving a sequence, a connection ended by a person."""

from __future__ import annotations

from sqlalchemy import select

from saas.engine.connect import connect_record
from saas.engine.lifecycle import exit_for_records
from saas.engine.services import disconnect
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging import events as message_events
from saas.outbound import services
from saas.outbound.models import WebhookDelivery
from saas.templates_.models import MessageTemplate
from tests.engine.factories import build_sequence
from tests.engine.test_advance import TASK, open_run, record


def bodies() -> list[dict]:
    return db.session.execute(select(WebhookDelivery.payload).order_by(WebhookDelivery.id)
                              ).scalars().all()


def test_an_automated_email_sent_through_the_outbox(world, receiver):
    [lead] = world.add(1)
    with world.inside():
        services.create_subscription(receiver.url, "", ["email.sent"])
        template = MessageTemplate(kind="email", name="Welcome", subject="Hi",
                                   html_body="<p>Hello</p>", text_body="Hello")
        db.session.add(template)
        db.session.flush()
        sequence = build_sequence([{"type": "auto_email", "name": "Welcome email",
                                    "config": {"template_id": template.id}}, TASK])
        enrollment = connect_record(record(lead), sequence.lineage_id)
        enrollment_id = enrollment.id
        db.session.commit()
        run_tick()
        [sent] = bodies()
        assert sent["type"] == "email.sent"
        assert (sent["data"]["enrollment_id"], sent["data"]["step_type"]) == (
            enrollment_id, "auto_email")
        assert "Hello" not in str(sent)  # never the message itself


def test_an_out_of_office_reply(world, receiver):
    [lead] = world.add(1)
    with world.inside():
        services.create_subscription(receiver.url, "", ["email.out_of_office"])
        enrollment = connect_record(record(lead), build_sequence([
            {"type": "email", "name": "Intro email", "config": {"template_id": None}}]
        ).lineage_id)
        run_id = open_run(enrollment.id).id
        db.session.commit()
        message_events.record(kind="auto_reply", provider="inbound", provider_event_id="ooo-1",
                              step_run_id=run_id, data={"text": "I am away until Monday"})
        db.session.commit()
        [body] = bodies()
        assert body["type"] == "email.out_of_office" and body["data"]["step_run_id"] == run_id
        assert "away" not in str(body)


def test_records_leaving_and_a_connection_ended_by_a_person(world, receiver):
    first, second = world.add(2)
    with world.inside():
        services.create_subscription(receiver.url, "", ["enrollment.exited",
                                                        "enrollment.completed"])
        sequence = build_sequence([TASK])
        connect_record(record(first), sequence.lineage_id)
        other = connect_record(record(second), sequence.lineage_id)
        db.session.commit()
        assert exit_for_records([first], "disqualified") == 1
        db.session.commit()
        disconnect(other)
        exited, ended = bodies()
        assert exited["type"] == ended["type"] == "enrollment.exited"
        assert (exited["data"]["record_id"], exited["data"]["status"],
                exited["data"]["reason"]) == (first, "exited", "disqualified")
        assert (ended["data"]["record_id"], ended["data"]["status"],
                ended["data"]["reason"]) == (second, "disconnected", "disconnected")
