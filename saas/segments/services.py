"""State changes of segments: save, activate, deactivate, re-evaluate, delete."""

from __future__ import annotations

from sqlalchemy import select

from saas.admin import audit
from saas.auth.tenants import current_tenant
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.records.fields import fields_for
from saas.segments import membership
from saas.segments.models import Segment, SegmentStatus
from saas.segments.rules import validate
from saas.signals import segment_deleting


class SegmentInvalid(ServiceError):
    def __init__(self, field_errors: dict[str, str], rule_errors: dict[str, str]):
        super().__init__(_("Some fields need attention."))
        self.field_errors, self.rule_errors = field_errors, rule_errors


def check(*, name: str, record_type: str, priority, rules: dict,
          segment_id: int | None = None) -> tuple[dict, dict]:
    """Errors by form field and by rule path; both empty means it can be saved."""
    field_errors: dict[str, str] = {}
    if not (name or "").strip():
        field_errors["name"] = _("Enter a name.")
    elif len(name) > 120:
        field_errors["name"] = _("Use at most %(limit)s characters.", limit=120)
    else:
        same = select(Segment.id).where(Segment.name == name.strip())
        if segment_id:
            same = same.where(Segment.id != segment_id)
        if db.session.execute(same).first():
            field_errors["name"] = _("Another segment has this name.")
    if record_type not in current_tenant().record_types:
        field_errors["record_type"] = _("Choose a record type enabled in this workspace.")
        return field_errors, {}
    try:
        if not -1000 <= int(priority) <= 1000:
            raise ValueError
    except (TypeError, ValueError):
        field_errors["priority"] = _("Enter a whole number from -1000 to 1000.")
    return field_errors, validate(rules, fields_for(record_type))


def save_segment(segment: Segment | None, *, name: str, description: str, record_type: str,
                 priority, rules: dict) -> Segment:
    field_errors, rule_errors = check(name=name, record_type=record_type, priority=priority,
                                      rules=rules, segment_id=segment.id if segment else None)
    if field_errors or rule_errors:
        raise SegmentInvalid(field_errors, rule_errors)
    if segment is None:
        segment = Segment(status=SegmentStatus.DRAFT.value, record_type=record_type)
        db.session.add(segment)
    elif segment.status == SegmentStatus.ACTIVE and segment.record_type != record_type:
        raise SegmentInvalid({"record_type": _("Deactivate the segment to change its record "
                                               "type.")}, {})
    changed = segment.rules != rules or segment.record_type != record_type
    segment.name, segment.description = name.strip(), (description or "").strip()
    segment.record_type, segment.priority, segment.rules = record_type, int(priority), rules
    db.session.flush()
    if segment.status == SegmentStatus.ACTIVE and changed:
        membership.rebuild(segment)
    audit.record("segment.saved", segment.name, status=segment.status)
    db.session.commit()
    return segment


def activate(segment: Segment) -> dict[str, int]:
    if validate(segment.rules, fields_for(segment.record_type)):
        raise ServiceError(_("Fix the rules before activating the segment."))
    segment.status = SegmentStatus.ACTIVE.value
    db.session.flush()
    changes = membership.rebuild(segment)
    audit.record("segment.activated", segment.name, members=segment.member_count)
    db.session.commit()
    return changes


def deactivate(segment: Segment) -> None:
    segment.status = SegmentStatus.INACTIVE.value
    membership.clear(segment)
    audit.record("segment.deactivated", segment.name)
    db.session.commit()


def reevaluate(segment: Segment) -> dict[str, int]:
    if segment.status != SegmentStatus.ACTIVE:
        raise ServiceError(_("Only an active segment has members to re-evaluate."))
    changes = membership.rebuild(segment)
    audit.record("segment.reevaluated", segment.name, **changes)
    db.session.commit()
    return changes


def delete_segment(segment: Segment) -> None:
    audit.record("segment.deleted", segment.name)
    segment_deleting.send(None, segment_id=segment.id)  # its connections forget it
    db.session.delete(segment)
    db.session.commit()
