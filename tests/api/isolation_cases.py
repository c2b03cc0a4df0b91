"""What each API operation with a path id needs: a builder that makes the object in tenant A
(inside A's tenant context) and returns an ApiCase. A new operation with a path id fails
`test_every_operation_with_an_id_has_a_case` until it has one here."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from saas.extensions import db
from saas.records.models import Record

_numbers = itertools.count(1)


@dataclass
class ApiCase:
    values: dict
    body: dict | None = None
    ok: tuple[int, ...] = (200, 201, 204)  # what the owner's key gets


def record() -> Record:
    n = next(_numbers)
    row = Record(record_type="lead", first_name="Rita", last_name=f"Target{n}", status="new",
                 custom={}, email=f"rita{n}@alpha.example")
    db.session.add(row)
    db.session.flush()
    return row


def _record_case(body: dict | None = None, ok=(200, 201, 204)):
    def build(ctx) -> ApiCase:
        return ApiCase({"record_id": record().id}, body, ok)
    return build


CASES: dict[str, Callable] = {
    "get_record": _record_case(),
    "update_record": _record_case({"company": "Changed"}),
    "delete_record": _record_case(),
}


# --- segments, sequences, connections, activities, analytics, suppressions --------------------

def _sequence_id() -> int:
    from tests.engine.factories import build_sequence

    return build_sequence([{"type": "task", "name": "Task"}], name=f"Sequence {next(_numbers)}").id


def _enrollment() -> tuple[int, int]:
    """A running connection of a seller, started (its task open): (enrollment id, run id)."""
    from sqlalchemy import select

    from saas.auth.models import User
    from saas.engine.connect import connect_many
    from saas.engine.models import Enrollment, StepRun

    seller = User(email=f"seller{next(_numbers)}@alpha.example", name="Seller",
                  roles=["seller"], status="active", password_hash="x")
    db.session.add(seller)
    db.session.flush()
    row = record()
    row.owner_id = seller.id
    db.session.flush()
    connect_many([row.id], _sequence_id())
    enrollment = db.session.execute(select(Enrollment.id).where(
        Enrollment.record_id == row.id)).scalar_one()
    run = db.session.execute(select(StepRun.id).where(
        StepRun.enrollment_id == enrollment)).scalar_one()
    return enrollment, run


def _sequence_case(body: dict | None = None, ok=(200, 201, 204)):
    def build(ctx) -> ApiCase:
        return ApiCase({"sequence_id": _sequence_id()}, body, ok)
    return build


def _connect_case(ctx) -> ApiCase:
    return ApiCase({"sequence_id": _sequence_id()}, {"record_ids": [record().id]})


def _enrollment_case(ctx) -> ApiCase:
    return ApiCase({"enrollment_id": _enrollment()[0]})


def _activity_case(body: dict | None = None):
    def build(ctx) -> ApiCase:
        return ApiCase({"step_run_id": _enrollment()[1]}, body)
    return build


def _segment_case(ctx) -> ApiCase:
    from saas.segments.models import Segment, SegmentMember

    segment = Segment(name=f"Segment {next(_numbers)}", record_type="lead", status="active",
                      rules={"op": "and", "rules": []}, member_count=1)
    db.session.add(segment)
    db.session.flush()
    db.session.add(SegmentMember(segment_id=segment.id, record_id=record().id))
    db.session.flush()
    return ApiCase({"segment_id": segment.id})


def _suppression_case(ctx) -> ApiCase:
    from sqlalchemy import select

    from saas.messaging.models import Suppression
    from saas.messaging.suppression import suppress

    address = f"gone{next(_numbers)}@alpha.example"
    suppress(address)
    return ApiCase({"suppression_id": db.session.execute(select(Suppression.id).where(
        Suppression.address == address)).scalar_one()})


CASES.update({
    "list_segment_members": _segment_case,
    "get_sequence": _sequence_case(),
    "connect": _connect_case,
    "list_enrollments": _sequence_case(),
    "sequence_analytics": _sequence_case(),
    "get_enrollment": _enrollment_case,
    "pause_enrollment": _enrollment_case,
    "resume_enrollment": _enrollment_case,
    "disconnect_enrollment": _enrollment_case,
    "complete_activity": _activity_case(),
    "skip_activity": _activity_case(),
    "snooze_activity": _activity_case({"until": "2999-01-01T09:00:00Z"}),
    "remove_suppression": _suppression_case,
})


def _webhook_case(ok=(200, 201, 202, 204)):
    def build(ctx) -> ApiCase:
        from saas.outbound.services import create_subscription

        row, __ = create_subscription("https://127.0.0.1/in", "", ["email.sent"])
        return ApiCase({"webhook_id": row.id}, None, ok)
    return build


CASES.update({
    "test_webhook": _webhook_case(),
    "delete_webhook": _webhook_case(),
})
