"""New members of a connected segment are connected as they join: the tick consumes the
segment's `joined` events (every unconsumed event is marked consumed, joined or left)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, update

from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.enroll import ConnectRefused
from saas.engine.models import SegmentConnection
from saas.extensions import db
from saas.segments.models import SegmentEvent, SegmentMember

BATCH = 5000


def consume_segment_events(tenant_id: int) -> int:
    """Connect the records that joined connected segments since the connection; commits."""
    events = db.session.execute(
        select(SegmentEvent.id, SegmentEvent.segment_id, SegmentEvent.record_id,
               SegmentEvent.kind, SegmentEvent.created_at)
        .where(SegmentEvent.tenant_id == tenant_id, SegmentEvent.consumed_at.is_(None))
        .order_by(SegmentEvent.id).limit(BATCH)
        .with_for_update(skip_locked=True)).all()
    if not events:
        db.session.rollback()
        return 0
    connections = db.session.execute(select(SegmentConnection).where(
        SegmentConnection.segment_id.in_({e.segment_id for e in events}))).scalars().all()
    joined: dict[tuple[int, int], list[int]] = defaultdict(list)
    for connection in connections:
        for e in events:
            if (e.kind == "joined" and e.segment_id == connection.segment_id
                    and e.created_at >= connection.created_at):
                joined[(connection.lineage_id, connection.segment_id)].append(e.record_id)
    connected = 0
    now = clock.now()
    for (lineage_id, segment_id), record_ids in joined.items():
        members = db.session.execute(select(SegmentMember.record_id).where(
            SegmentMember.segment_id == segment_id,
            SegmentMember.record_id.in_(record_ids))).scalars().all()
        try:
            connected += connect_many(members, lineage_id, source="segment",
                                      segment_id=segment_id, now=now)["connected"]
        except ConnectRefused:
            continue  # the sequence is not active now: these joins are not connected
    db.session.execute(update(SegmentEvent).where(
        SegmentEvent.id.in_([e.id for e in events])).values(consumed_at=now)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return connected
