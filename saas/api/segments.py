"""Segments over the API: the list (with their status and member counts) and a segment's
members, as pages of records."""

from __future__ import annotations

from sqlalchemy import select

from saas.api.records import ID, NOT_FOUND, RECORD, WHEN, record_json
from saas.api.sequences import READERS
from saas.api.spec import AFTER, LIMIT, Param, component, cursor, nullable, operation, page_of
from saas.i18n import _l
from saas.records.models import Record, RecordType
from saas.segments.models import Segment, SegmentMember, SegmentStatus
from saas.tenancy import get_or_404
from saas.web.pagination import keyset_page

_SEGMENT_FIELDS = {
    "id": ID, "name": {"type": "string"}, "description": {"type": "string"},
    "record_type": {"type": "string", "enum": [t.value for t in RecordType]},
    "status": {"type": "string", "enum": [s.value for s in SegmentStatus]},
    "priority": {"type": "integer"},
    "member_count": {"type": "integer", "description": _l("Members at the last evaluation.")},
    "rules": {"type": "object"}, "evaluated_at": nullable(WHEN), "created_at": WHEN,
    "updated_at": WHEN}
SEGMENT = component("Segment", {
    "type": "object", "required": list(_SEGMENT_FIELDS), "properties": _SEGMENT_FIELDS})


def segment_json(segment: Segment) -> dict:
    return {"id": segment.id, "name": segment.name, "description": segment.description or "",
            "record_type": segment.record_type, "status": segment.status,
            "priority": segment.priority or 0, "member_count": segment.member_count or 0,
            "rules": segment.rules or {}, "evaluated_at": segment.evaluated_at,
            "created_at": segment.created_at, "updated_at": segment.updated_at}


@operation("GET", "/segments", summary=_l("List segments"), tag="Segments", allow=READERS,
           sequences=True, query=(
               Param("status", {"type": "string", "enum": [s.value for s in SegmentStatus]}),),
           description=_l("As the Segments page orders them: by record type, priority, name."),
           responses={200: (_l("The segments."), {"type": "object", "required": ["data"],
                                              "properties": {"data": {"type": "array",
                                                                      "items": SEGMENT}}})})
def list_segments(query: dict):
    stmt = select(Segment).order_by(Segment.record_type, Segment.priority.desc(), Segment.name,
                                    Segment.id)
    if query["status"]:
        stmt = stmt.where(Segment.status == query["status"])
    from saas.extensions import db

    return {"data": [segment_json(s) for s in db.session.execute(stmt).scalars()]}


@operation("GET", "/segments/{segment_id}/members", summary=_l("List a segment's members"),
           tag="Segments", allow=READERS, sequences=True, query=(LIMIT, AFTER),
           description=_l("Its member records, by record id (an inactive segment has none)."),
           responses={200: (_l("A page of records."), page_of(RECORD)), 404: NOT_FOUND[1]})
def list_segment_members(segment_id: int, query: dict):
    segment = get_or_404(Segment, segment_id)
    cursor(query["after"], [Record.id])
    stmt = select(Record).join(SegmentMember, SegmentMember.record_id == Record.id) \
        .where(SegmentMember.segment_id == segment.id)
    page = keyset_page(stmt, [Record.id], query["after"], limit=query["limit"],
                       cursor_of=lambda r: (r.id,))
    return {"data": [record_json(r) for r in page.items], "next_cursor": page.next_after}
