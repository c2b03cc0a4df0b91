"""Tenant-isolation builders for the engine routes, merged into tests/test_tenant_isolation.py.

Each builder creates the object in the tenant in context and returns a Case
(`from tests.test_tenant_isolation import Case` inside the builder, to avoid a cycle).
"""

from __future__ import annotations

import itertools

from sqlalchemy import select

from saas.auth.models import User
from saas.engine.models import ConnectJob, Enrollment, SegmentConnection, StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.segments.models import Segment
from saas.sequences.models import Sequence, Step

_numbers = itertools.count(1)


def _sequence() -> Sequence:
    sequence = Sequence(name=f"Sequence {next(_numbers)}", record_type="lead", status="active",
                        settings={})
    db.session.add(sequence)
    db.session.flush()
    sequence.lineage_id = sequence.id
    db.session.add(Step(sequence_id=sequence.id, branch="main", position=0, type="task",
                        name="Task", config={}))
    db.session.flush()
    return sequence


def _record() -> Record:
    record = Record(record_type="lead", first_name="Iso", last_name="Lation", status="new",
                    custom={}, email=f"iso{next(_numbers)}@alpha.example")
    db.session.add(record)
    db.session.flush()
    return record


def _segment() -> Segment:
    segment = Segment(name=f"Segment {next(_numbers)}", record_type="lead", status="active",
                      rules={"op": "and", "rules": []})
    db.session.add(segment)
    db.session.flush()
    return segment


def _seller() -> User:
    user = User(email=f"seller{next(_numbers)}@alpha.example", name="Seller", roles=["seller"],
                status="active", password_hash="x")
    db.session.add(user)
    db.session.flush()
    return user


def _enrollment(status: str = "active", seller: bool = True) -> Enrollment:
    sequence = _sequence()
    enrollment = Enrollment(record_id=_record().id, sequence_id=sequence.id,
                            lineage_id=sequence.id, status=status,
                            seller_id=_seller().id if seller else None, source="manual")
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


def _case(*args, **kwargs):
    from tests.test_tenant_isolation import Case

    return Case(*args, **kwargs)


def record_connect(tenant):
    return _case({"record_id": _record().id}, "POST", {"sequence_id": _sequence().id})


def connected(tenant):
    return _case({"sequence_id": _sequence().id})


def connect_segment(tenant):
    return _case({"sequence_id": _sequence().id}, "POST", {"segment_id": _segment().id})


def remove_segment(tenant):
    sequence = _sequence()
    connection = SegmentConnection(lineage_id=sequence.id, segment_id=_segment().id)
    db.session.add(connection)
    db.session.flush()
    return _case({"sequence_id": sequence.id, "connection_id": connection.id}, "POST")


def job_progress(tenant):
    sequence = _sequence()
    job = ConnectJob(sequence_id=sequence.id, total=10, done=4, status="running")
    db.session.add(job)
    db.session.flush()
    return _case({"sequence_id": sequence.id, "job_id": job.id})


def bulk_connected(tenant):
    enrollment = _enrollment()
    return _case({"sequence_id": enrollment.sequence_id}, "POST",
                 {"ids": [str(enrollment.id)], "action": "disconnect"})


def enrollment_action(status: str = "active", seller: bool = True, with_seller: bool = False):
    def build(tenant):
        data = {"seller_id": _seller().id} if with_seller else {}
        return _case({"enrollment_id": _enrollment(status, seller).id}, "POST", data)
    return build


def settle_uncertain(tenant):
    enrollment = _enrollment()
    step_id = db.session.execute(select(Step.id).where(
        Step.sequence_id == enrollment.sequence_id)).scalar_one()
    run = StepRun(enrollment_id=enrollment.id, step_id=step_id, sequence_id=enrollment.sequence_id,
                  record_id=enrollment.record_id, step_type="auto_email", status="unknown",
                  error="The provider did not answer in time.")
    db.session.add(run)
    db.session.flush()
    return _case({"step_run_id": run.id}, "POST", {"action": "resend"})


def correct_reply(tenant):
    """An out-of-office reply to a sent email, that a manager says was a real reply."""
    from saas.messaging.models import MessageEvent

    enrollment = _enrollment()
    step_id = db.session.execute(select(Step.id).where(
        Step.sequence_id == enrollment.sequence_id)).scalar_one()
    run = StepRun(enrollment_id=enrollment.id, step_id=step_id, sequence_id=enrollment.sequence_id,
                  record_id=enrollment.record_id, step_type="auto_email", status="sent")
    db.session.add(run)
    db.session.flush()
    event = MessageEvent(step_run_id=run.id, kind="auto_reply", provider="sendgrid",
                         provider_event_id=f"reply:iso{next(_numbers)}",
                         data={"reason": "Auto-Submitted: auto-replied"})
    db.session.add(event)
    db.session.flush()
    return _case({"event_id": event.id}, "POST", {"as": "reply"})


def resume_sender(tenant):
    """A sender paused for its health, that a manager resumes."""
    from saas.engine.senders import Sender
    from saas.timeutil import utcnow

    sender = Sender(address=f"sales{next(_numbers)}@alpha.example", paused_at=utcnow(),
                    paused_reason="bounces")
    db.session.add(sender)
    db.session.flush()
    return _case({"sender_id": sender.id}, "POST")


CASES: dict = {
    "replies.correct": correct_reply,
    "senders.resume_sender": resume_sender,
    "engine.record_connect": record_connect,
    "engine.connected": connected,
    "engine.bulk_connected": bulk_connected,
    "engine.connect_segment": connect_segment,
    "engine.remove_segment": remove_segment,
    "engine.job_progress": job_progress,
    "engine.pause": enrollment_action(),
    "engine.resume": enrollment_action("paused"),
    "engine.disconnect": enrollment_action(),
    "engine.assign": enrollment_action(seller=False, with_seller=True),
    "engine.settle_uncertain": settle_uncertain,
}
