"""Up to 1,000 records created or upserted in one request, one transaction, a result per item.

Each item is cleaned like a form (saas/records/validation.py); an item with errors is left out
and reported, the others are written: new ones by one multi-row INSERT ... RETURNING (ids in
the items' order), updated ones by one UPDATE per set of columns. Segments and sequences hear
of all of them at once (`records_changed`, `leads_disqualified`), then one commit.

Two requests upserting the same new email at once: the second's INSERT meets the unique index,
its savepoint is rolled back and the plan is made again, now finding the record to update.
"""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import ARRAY, JSON, String, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

try:
    from psycopg.errors import UniqueViolation
except ImportError:  # pragma: no cover - SQLite-only installs
    UniqueViolation = IntegrityError

from saas.api.problems import field_errors
from saas.api.records import FIELDS, check_enabled, raw_values
from saas.api.spec import MANAGERS, component, operation, parse_body, ref
from saas.auth.tenants import current_tenant
from saas.extensions import db
from saas.i18n import _, _l
from saas.records.fields import custom_fields, fields_for
from saas.records.models import Record, RecordType
from saas.records.services import cleaning_context
from saas.records.validation import clean_values
from saas.signals import leads_disqualified, records_changed
from saas.timeutil import utcnow

MAX_ITEMS = 1000
RECORD = Record.__table__
TYPES = [t.value for t in RecordType]

component("BulkRecords", {
    "type": "object", "additionalProperties": False, "required": ["type", "records"],
    "properties": {
        "type": {"type": "string", "enum": TYPES},
        "match": {"type": "string", "enum": ["email", "none"], "default": "email",
                  "description": _l("`email`: a record of this type with the item's email "
                                    "is updated (only the fields sent); `none`: every item is "
                                    "created.")},
        "records": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS, "items": {
            "type": "object", "additionalProperties": False, "properties": FIELDS}}}})
RESULT = component("BulkResult", {
    "type": "object", "required": ["index", "status"],
    "properties": {"index": {"type": "integer"},
                   "status": {"type": "string", "enum": ["created", "updated", "error"]},
                   "id": {"type": "integer"},
                   "errors": {"type": "array", "items": {"type": "object"}}}})


class _Plan:
    def __init__(self, size: int):
        self.results: list[dict] = [{"index": i, "status": "error"} for i in range(size)]
        self.creates: list[tuple[int, dict]] = []
        self.updates: list[tuple[int, int, dict]] = []


def _existing(record_type: str, emails: list[str]) -> dict[str, int]:
    if not emails:
        return {}
    if db.engine.dialect.name == "postgresql":  # one index probe per email (see imports/job.py)
        wanted = func.unnest(bindparam("emails", emails, type_=ARRAY(String))) \
            .table_valued("email").render_derived(name="wanted")
        record_id = select(RECORD.c.id).where(
            RECORD.c.tenant_id == current_tenant().id, RECORD.c.record_type == record_type,
            RECORD.c.email == wanted.c.email).scalar_subquery()
        stmt = select(wanted.c.email, record_id)
    else:
        stmt = select(RECORD.c.email, RECORD.c.id).where(
            RECORD.c.tenant_id == current_tenant().id, RECORD.c.record_type == record_type,
            RECORD.c.email.in_(emails))
    return {email: rid for email, rid in db.session.execute(stmt) if rid is not None}


def _plan(record_type: str, items: list[dict], match: bool) -> _Plan:
    plan = _Plan(len(items))
    fields, ctx = fields_for(record_type), cleaning_context()
    custom_keys = {f.key for f in custom_fields(record_type)}
    only_email = {"email": fields["email"]}
    raws, emails, first_of = [], [], {}
    for i, item in enumerate(items):
        unknown = [k for k in (item.get("custom") or {}) if k not in custom_keys]
        if unknown:
            plan.results[i]["errors"] = [{"field": f"/custom/{k}", "message": _(
                "No custom field has this key.")} for k in unknown[:20]]
            raws.append(None)
            emails.append(None)
            continue
        raw = raw_values({k: v for k, v in item.items() if k != "custom"}, record_type)
        raw.update({f"custom.{k}": None if v is None else str(v)
                    for k, v in (item.get("custom") or {}).items()})
        email = None
        if raw.get("email"):
            values, errors = clean_values({"email": raw["email"]}, only_email, record_type, ctx,
                                          partial=True)
            if errors:
                plan.results[i]["errors"] = field_errors(errors)
                raws.append(None)
                emails.append(None)
                continue
            email = values["email"]
            if email in first_of:
                plan.results[i]["errors"] = [{"field": "/email", "message": _(
                    "Item %(index)s has this email too.", index=first_of[email])}]
                raws.append(None)
                emails.append(None)
                continue
            first_of[email] = i
        raws.append(raw)
        emails.append(email)
    existing = _existing(record_type, [e for e in emails if e])
    rest = {k: f for k, f in fields.items() if k != "email"}
    for i, raw in enumerate(raws):
        if raw is None:
            continue
        email = emails[i]
        record_id = existing.get(email) if email else None
        if record_id is not None and not match:
            plan.results[i]["errors"] = [{"field": "/email", "message": str(
                _("Another lead already has this email.") if record_type == "lead"
                else _("Another opportunity already has this email."))}]
            continue
        partial = record_id is not None
        without_email = {k: v for k, v in raw.items() if k != "email"}
        values, errors = clean_values(without_email, rest, record_type, ctx, partial=partial)
        if errors:
            plan.results[i]["errors"] = field_errors(errors)
        elif partial:
            plan.updates.append((i, record_id, values))
        else:
            plan.creates.append((i, {**values, "email": email}))
    return plan


def _custom_merge():
    if db.engine.dialect.name == "postgresql":
        patch = bindparam("p_custom", type_=JSONB)
        return func.jsonb_strip_nulls(
            func.coalesce(RECORD.c.custom, cast({}, JSONB)).op("||")(patch))
    return func.json_patch(RECORD.c.custom, bindparam("p_custom", type_=JSON))


def _copy_new(rows: list[dict], columns: list[str]) -> list[int]:
    """PostgreSQL: ids drawn from the sequence in one query, then the rows COPied into
    `record` with them (a third of the time of a multi-row INSERT, whose thousands of
    parameters psycopg parses on every request)."""
    ids = db.session.execute(
        select(func.nextval("record_id_seq")).select_from(func.generate_series(1, len(rows)))
    ).scalars().all()
    names = ", ".join(["id", *columns])
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY record ({names}) FROM STDIN") as copy:
        for record_id, row in zip(ids, rows, strict=True):
            copy.write_row([record_id, *(json.dumps(row[c]) if c == "custom" else row[c]
                                         for c in columns)])
    return list(ids)


def _write(plan: _Plan, record_type: str) -> None:
    now, tenant_id = utcnow(), current_tenant().id
    if plan.creates:
        rows = [{**values, "tenant_id": tenant_id, "record_type": record_type,
                 "created_at": now, "updated_at": now} for __, values in plan.creates]
        columns = sorted({k for row in rows for k in row})
        rows = [{c: row.get(c) for c in columns} for row in rows]
        if db.engine.dialect.name == "postgresql":
            ids = _copy_new(rows, columns)
        else:
            ids = db.session.execute(
                insert(RECORD).returning(RECORD.c.id, sort_by_parameter_order=True), rows
            ).scalars().all()
        for (i, __), record_id in zip(plan.creates, ids, strict=True):
            plan.results[i] = {"index": i, "status": "created", "id": record_id}
    by_columns: dict[tuple, list] = defaultdict(list)
    for i, record_id, values in plan.updates:
        by_columns[tuple(sorted(values))].append((i, record_id, values))
    for columns, group in by_columns.items():
        sets = {c: (_custom_merge() if c == "custom"
                    else bindparam(f"p_{c}", type_=RECORD.c[c].type)) for c in columns}
        stmt = update(RECORD).where(RECORD.c.id == bindparam("p_id"),
                                    RECORD.c.tenant_id == tenant_id).values(
            **sets, updated_at=now)
        db.session.execute(stmt, [{"p_id": record_id, **{f"p_{c}": v for c, v in values.items()}}
                                  for __, record_id, values in group])
        for i, record_id, __ in group:
            plan.results[i] = {"index": i, "status": "updated", "id": record_id}


def bulk_write(record_type: str, items: list[dict], match: bool) -> list[dict]:
    """Write what can be written, in the caller's transaction; a result per item."""
    for attempt in range(3):
        plan = _plan(record_type, items, match)
        savepoint = db.session.begin_nested()
        try:
            _write(plan, record_type)
            savepoint.commit()
            break
        except (IntegrityError, UniqueViolation):
            savepoint.rollback()  # an email created meanwhile: plan again, it is an update now
            if attempt == 2:
                raise
    written = [r["id"] for r in plan.results if "id" in r]
    if written:
        records_changed.send(None, record_ids=written)
        if record_type == RecordType.LEAD:
            disqualified = [plan.results[i]["id"] for i, __, values in plan.updates
                            if values.get("status") == "disqualified"]
            disqualified += [plan.results[i]["id"] for i, values in plan.creates
                             if values.get("status") == "disqualified"]
            if disqualified:
                leads_disqualified.send(None, record_ids=disqualified)
    return plan.results


@operation("POST", "/records/bulk", summary=_l("Create or upsert up to 1,000 records"),
           tag="Records", allow=MANAGERS, body=ref("BulkRecords"),
           description=_l("One transaction; each item gets a result (created, updated or error "
                          "with its fields' messages). Items with errors are not written; the "
                          "others are."),
           responses={200: (_l("A result per item, in the items' order."), {
               "type": "object", "required": ["created", "updated", "failed", "results"],
               "properties": {"created": {"type": "integer"}, "updated": {"type": "integer"},
                              "failed": {"type": "integer"},
                              "results": {"type": "array", "items": RESULT}}}),
               422: (_l("The request as a whole is not valid."), ref("Problem"))})
def bulk_records():
    body = parse_body("BulkRecords")
    check_enabled(body["type"])
    results = bulk_write(body["type"], body["records"], body.get("match", "email") == "email")
    db.session.commit()
    counts = defaultdict(int)
    for result in results:
        counts[result["status"]] += 1
    return {"created": counts["created"], "updated": counts["updated"],
            "failed": counts["error"], "results": results}
