"""State changes of records: create, edit, delete, change owner (one or many, in bulk SQL)."""

from __future__ import annotations

from sqlalchemy import String, cast, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB

from saas.admin import audit
from saas.auth.models import User, UserStatus
from saas.auth.tenants import current_tenant
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.records.fields import fields_for, sequence_settable, value_problem
from saas.records.models import Record, RecordType
from saas.records.validation import Context, clean_values
from saas.signals import answers, leads_disqualified, records_changed, records_deleting
from saas.sql import id_in
from saas.timeutil import utcnow


class RecordInvalid(ServiceError):
    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Some fields need attention."))
        self.errors = errors


def cleaning_context() -> Context:
    """The tenant's default time zone and its active users (by id, email and name)."""
    owners: dict[str, int] = {}
    rows = db.session.execute(select(User.id, User.email, User.name)
                              .where(User.status == UserStatus.ACTIVE.value))
    for user_id, email, name in rows:
        owners[str(user_id)] = user_id
        owners[email.lower()] = user_id
        owners.setdefault(name.lower(), user_id)
    return Context(default_time_zone=current_tenant().time_zone, owners=owners)


def _check_type(record_type: str) -> None:
    if record_type not in current_tenant().record_types:
        raise ServiceError(_("Opportunities are not enabled in this workspace."))


def _email_taken(record_type: str, email: str | None, exclude_id: int | None = None) -> bool:
    if not email:
        return False
    stmt = select(Record.id).where(Record.record_type == record_type, Record.email == email)
    if exclude_id is not None:
        stmt = stmt.where(Record.id != exclude_id)
    return db.session.execute(stmt.limit(1)).first() is not None


def _email_taken_message(record_type: str) -> str:
    if record_type == RecordType.LEAD:
        return _("Another lead already has this email.")
    return _("Another opportunity already has this email.")


def create_record(record_type: str, raw: dict[str, str | None]) -> Record:
    _check_type(record_type)
    values, errors = clean_values(raw, fields_for(record_type), record_type, cleaning_context())
    if not errors and _email_taken(record_type, values.get("email")):
        errors["email"] = _email_taken_message(record_type)
    if errors:
        raise RecordInvalid(errors)
    record = Record(record_type=record_type, **values)
    db.session.add(record)
    db.session.flush()
    records_changed.send(None, record_ids=[record.id])
    db.session.commit()
    return record


def clean_email(raw: str, record_type: str) -> tuple[str | None, dict[str, str]]:
    """An email as records store it (or None when empty), and the field's error if any."""
    values, errors = clean_values({"email": raw}, {"email": fields_for(record_type)["email"]},
                                  record_type, Context(), partial=True)
    return values.get("email"), errors


def update_record(record: Record, raw: dict[str, str | None], *, partial: bool = False
                  ) -> Record:
    """Save a record's values: all of them (the form), or with `partial` only those given (the
    API's PATCH; a custom field given as empty is removed)."""
    values, errors = clean_values(raw, fields_for(record.record_type), record.record_type,
                                  cleaning_context(), partial=partial)
    if not errors and _email_taken(record.record_type, values.get("email"), record.id):
        errors["email"] = _email_taken_message(record.record_type)
    if partial and not errors:
        first = values.get("first_name", record.first_name)
        last = values.get("last_name", record.last_name)
        if not first and not last:
            errors["last_name"] = _("Enter a first or last name.")
        if "custom" in values:
            merged = {**(record.custom or {}), **values["custom"]}
            values["custom"] = {k: v for k, v in merged.items() if v is not None}
    if errors:
        raise RecordInvalid(errors)
    for key, value in values.items():
        setattr(record, key, value)
    record.updated_at = utcnow()
    db.session.flush()
    records_changed.send(None, record_ids=[record.id])
    _exit_if_disqualified(record)
    db.session.commit()
    return record


def _exit_if_disqualified(record: Record) -> None:
    """A disqualified lead leaves every sequence it runs in."""
    if record.record_type == RecordType.LEAD.value and record.status == "disqualified":
        leads_disqualified.send(None, record_ids=[record.id])


def _settable(record_type: str, key: str, value: str):
    field = fields_for(record_type).get(key)
    if field is None or not sequence_settable(field):
        raise ServiceError(_("The field “%(field)s” cannot be set by a sequence.", field=key))
    problem = value_problem(field, value)
    if problem:
        raise ServiceError(problem)
    return field


def set_field_many(record_ids: list[int], record_type: str, key: str, value: str) -> None:
    """The same field set on many records by a sequence command, in the caller's transaction (no
    commit): one UPDATE per chunk (a custom field too, on PostgreSQL: `custom || {key: value}`),
    then the segments refreshed and the disqualified leads exited once for all of them. The
    same outcome per record as set_field()."""
    field = _settable(record_type, key, value)
    ids = sorted(set(record_ids))
    if field.custom and db.engine.dialect.name != "postgresql":
        for record_id in ids:
            set_field(record_id, key, value)
        return
    if field.custom:
        change = {"custom": func.coalesce(Record.custom, cast({}, JSONB)).op("||")(
            func.jsonb_build_object(literal(field.custom_key, String), literal(value, String)))}
    else:
        stored = value if key in ("first_name", "last_name", "company", "status") else (
            value or None)
        change = {key: stored}
    for start in range(0, len(ids), 5000):
        db.session.execute(update(Record).where(id_in(Record.id, ids[start:start + 5000]))
                           .values({**change, "updated_at": utcnow()})
                           .execution_options(synchronize_session=False))
    wanted = set(ids)  # records already loaded see the new value on their next access
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Record) and obj.id in wanted:
            db.session.expire(obj)
    records_changed.send(None, record_ids=ids)
    if record_type == RecordType.LEAD.value and key == "status" and value == "disqualified":
        leads_disqualified.send(None, record_ids=ids)


def set_field(record_id: int, key: str, value: str) -> None:
    """One field set by a sequence command, in the caller's transaction (no commit)."""
    record = db.session.execute(select(Record).where(Record.id == record_id)).scalar_one()
    field = _settable(record.record_type, key, value)
    if field.custom:
        record.custom = {**(record.custom or {}), field.custom_key: value}
    else:
        setattr(record, key, value or None if key not in ("first_name", "last_name", "company",
                                                          "status") else value)
    record.updated_at = utcnow()
    db.session.flush()
    records_changed.send(None, record_ids=[record.id])
    _exit_if_disqualified(record)


def delete_records(record_ids: list[int]) -> int:
    """Delete records. Their connections stay as history, exited with the reason
    "record_deleted" (their remaining steps cancelled, the record set to NULL by the foreign
    key); the sellers' notes and what the person wrote back go (engine.lifecycle, through
    `records_deleting`)."""
    locked = db.session.execute(select(Record.id).where(Record.id.in_(record_ids))
                                .with_for_update()).scalars().all()
    if locked:
        exited = sum(answers(records_deleting, record_ids=locked))
        db.session.execute(delete(Record).where(Record.id.in_(locked)))
        audit.record("records.deleted", audit.records_target(len(locked)), ids=locked[:50],
                     connections_exited=exited)
    db.session.commit()
    return len(locked)


def change_owner(record_ids: list[int], owner_id: int | None) -> int:
    if owner_id is not None:
        owner = db.session.execute(select(User).where(
            User.id == owner_id, User.status == UserStatus.ACTIVE.value)).scalar_one_or_none()
        if owner is None:
            raise ServiceError(_("Choose an active user as the new owner."), "owner_id")
    result = db.session.execute(
        update(Record).where(Record.id.in_(record_ids))
        .values(owner_id=owner_id, updated_at=utcnow()))
    records_changed.send(None, record_ids=list(record_ids))
    audit.record("records.owner_changed", audit.records_target(result.rowcount), owner_id=owner_id)
    db.session.commit()
    return result.rowcount
