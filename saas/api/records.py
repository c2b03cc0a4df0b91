"""Records over the API: leads and opportunities created, updated, upserted by email, read,
listed with filters and keyset pagination, deleted; custom fields read.

Values are cleaned by the same code as the record form and the CSV import
(saas/records/validation.py): an API client gets the messages a person gets, per field.
"""

from __future__ import annotations

from flask import Response
from sqlalchemy import select

from saas.api.problems import ApiProblem, invalid
from saas.api.spec import (
    AFTER,
    ALL,
    LIMIT,
    MANAGERS,
    Param,
    component,
    cursor,
    nullable,
    operation,
    page_of,
    parse_body,
    ref,
    text,
)
from saas.auth.tenants import current_tenant
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.records import services
from saas.records.fields import custom_fields, search_text
from saas.records.models import LEAD_SOURCES, Record, RecordType
from saas.tenancy import get_or_404
from saas.web.ids import INT_MAX
from saas.web.pagination import keyset_page

TYPES = [t.value for t in RecordType]
ID = {"type": "integer", "minimum": 1}
WHEN = {"type": "string", "format": "date-time"}
_CUSTOM_VALUE = {"anyOf": [text(500), {"type": "number"}, {"type": "null"}]}

FIELDS = {
    "first_name": text(100), "last_name": text(100), "company": text(200),
    "email": nullable(text(254)), "phone": nullable(text(64)),
    "linkedin_url": nullable(text(300)), "lead_source": nullable(text(64)),
    "status": nullable(text(64)), "stage": nullable(text(64)),
    "estimated_value": {"anyOf": [{"type": "number"}, text(32), {"type": "null"}]},
    "close_date": nullable(text(32, description=_l("YYYY-MM-DD"))),
    "owner_id": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": INT_MAX},
                           {"type": "null"}], "description": _l("A user's id.")},
    "country": nullable(text(64, description=_l("ISO code or name"))),
    "time_zone": nullable(text(64, description=_l("IANA zone, e.g. Europe/Paris"))),
    "language": nullable(text(64, description="fr, en, …")),
    "custom": {"type": "object", "maxProperties": 100, "additionalProperties": _CUSTOM_VALUE,
               "description": _l("Custom fields by key (see GET /custom-fields).")},
}
RECORD_FIELDS = component("RecordFields", {
    "type": "object", "additionalProperties": False, "properties": FIELDS})
component("RecordCreate", {
    "type": "object", "additionalProperties": False, "required": ["type"],
    "properties": {"type": {"type": "string", "enum": TYPES}, **FIELDS}})
component("RecordUpsert", {
    "type": "object", "additionalProperties": False, "required": ["type", "email"],
    "properties": {"type": {"type": "string", "enum": TYPES}, **FIELDS,
                   "email": text(254)}})
RECORD = component("Record", {
    "type": "object",
    "required": ["id", "type", "first_name", "last_name", "company", "email", "status",
                 "custom", "created_at", "updated_at"],
    "properties": {
        "id": ID, "type": {"type": "string", "enum": TYPES},
        "first_name": {"type": "string"}, "last_name": {"type": "string"},
        "company": {"type": "string"},
        **{k: {"type": ["string", "null"]} for k in (
            "email", "phone", "linkedin_url", "lead_source", "stage", "country", "language")},
        "status": {"type": "string"}, "time_zone": {"type": "string"},
        "estimated_value": {"type": ["number", "null"]},
        "close_date": {"type": ["string", "null"], "format": "date"},
        "owner_id": {"type": ["integer", "null"]},
        "custom": {"type": "object"},
        "created_at": WHEN, "updated_at": WHEN,
    }})
CUSTOM_FIELD = component("CustomField", {
    "type": "object", "required": ["id", "record_type", "key", "label", "kind", "choices"],
    "properties": {"id": ID, "record_type": {"type": "string", "enum": TYPES},
                   "key": {"type": "string"}, "label": {"type": "string"},
                   "kind": {"type": "string"},
                   "choices": {"type": "array", "items": {"type": "string"}}}})
PROBLEM = component("Problem", {
    "type": "object", "required": ["type", "status", "title"],
    "properties": {"type": {"type": "string"}, "status": {"type": "integer"},
                   "title": {"type": "string"}, "detail": {"type": "string"},
                   "errors": {"type": "array", "items": {
                       "type": "object", "required": ["field", "message"],
                       "properties": {"field": {"type": "string"},
                                      "message": {"type": "string"}}}}}})

NOT_FOUND = (404, (_l("Not found (or of another organization)."), PROBLEM))
INVALID = (422, (_l("Some fields need attention; `errors` names each."), PROBLEM))
SORTS = {"newest": (("created_at", "id"), True), "oldest": (("created_at", "id"), False),
         "updated": (("updated_at", "id"), True)}


def record_json(record: Record) -> dict:
    return {
        "id": record.id, "type": record.record_type, "first_name": record.first_name,
        "last_name": record.last_name, "company": record.company, "email": record.email,
        "phone": record.phone, "linkedin_url": record.linkedin_url,
        "lead_source": record.lead_source, "status": record.status, "stage": record.stage,
        "estimated_value": record.estimated_value, "close_date": record.close_date,
        "owner_id": record.owner_id, "country": record.country, "time_zone": record.time_zone,
        "language": record.language, "custom": record.custom or {},
        "created_at": record.created_at, "updated_at": record.updated_at,
    }


def raw_values(body: dict, record_type: str) -> dict[str, str | None]:
    """A body's values as the cleaning code takes them (text, as typed in a form); a custom
    key that is no field of this type is a 422."""
    raw: dict[str, str | None] = {}
    for key, value in body.items():
        if key not in ("type", "custom"):
            raw[key] = None if value is None else str(value)
    custom = body.get("custom") or {}
    if custom:
        known = {f.key for f in custom_fields(record_type)}
        unknown = [key for key in custom if key not in known]
        if unknown:
            raise invalid({f"custom/{key}": _("No custom field has this key.")
                           for key in unknown[:20]})
        for key, value in custom.items():
            raw[f"custom.{key}"] = None if value is None else str(value)
    return raw


def check_enabled(record_type: str) -> None:
    if record_type not in current_tenant().record_types:
        raise invalid({"type": _("Opportunities are not enabled in this workspace.")})


@operation("GET", "/records", summary=_l("List records"), tag="Records", allow=ALL, query=(
    Param("type", {"type": "string", "enum": TYPES, "default": "lead"},
          _l("`lead` or `opportunity`")),
    Param("q", {"type": "string", "maxLength": 200}, _l("Search in names, company and email.")),
    Param("email", {"type": "string", "maxLength": 254}, _l("Exact email.")),
    Param("status", {"type": "string", "maxLength": 64}),
    Param("lead_source", {"type": "string", "maxLength": 64, "enum": LEAD_SOURCES}),
    Param("owner_id", {"type": "integer", "minimum": 1, "maximum": INT_MAX}),
    Param("updated_after", WHEN, _l("Only records changed after this instant.")),
    Param("sort", {"type": "string", "enum": list(SORTS), "default": "newest"}),
    LIMIT, AFTER),
    responses={200: (_l("A page of records."), page_of(RECORD))})
def list_records(query: dict):
    stmt = select(Record).where(Record.record_type == query["type"])
    if query["q"]:
        stmt = stmt.where(search_text().contains(query["q"].lower(), autoescape=True))
    if query["email"]:
        stmt = stmt.where(Record.email == query["email"].strip().lower())
    for key in ("status", "lead_source", "owner_id"):
        if query[key] is not None:
            stmt = stmt.where(getattr(Record, key) == query[key])
    if query["updated_after"] is not None:
        stmt = stmt.where(Record.updated_at > query["updated_after"])
    names, descending = SORTS[query["sort"]]
    keys = [getattr(Record, name) for name in names]
    cursor(query["after"], keys)
    page = keyset_page(stmt, keys, query["after"], descending=descending, limit=query["limit"],
                       cursor_of=lambda r: tuple(getattr(r, n) for n in names))
    return {"data": [record_json(r) for r in page.items], "next_cursor": page.next_after}


@operation("POST", "/records", summary=_l("Create a record"), tag="Records", allow=MANAGERS,
           body=ref("RecordCreate"), responses={201: (_l("The record."), RECORD), 422: INVALID[1]})
def create_record():
    body = parse_body("RecordCreate")
    check_enabled(body["type"])
    try:
        record = services.create_record(body["type"], raw_values(body, body["type"]))
    except services.RecordInvalid as error:
        raise invalid(error.errors) from None
    return record_json(record), 201


@operation("POST", "/records/upsert", summary=_l("Create or update a record by email"),
           tag="Records", allow=MANAGERS, body=ref("RecordUpsert"),
           description=_l("Updates the fields sent on the record of this type with this email, "
                          "or creates it. 200 when updated, 201 when created."),
           responses={200: (_l("Updated."), RECORD), 201: (_l("Created."), RECORD),
                      422: INVALID[1]})
def upsert_record():
    body = parse_body("RecordUpsert")
    record_type = body["type"]
    check_enabled(record_type)
    raw = raw_values(body, record_type)
    email, problems = services.clean_email(raw.get("email") or "", record_type)
    if problems:
        raise invalid(problems)
    existing = db.session.execute(select(Record).where(
        Record.record_type == record_type, Record.email == email)).scalar_one_or_none()
    try:
        if existing is None:
            return record_json(services.create_record(record_type, raw)), 201
        return record_json(services.update_record(existing, raw, partial=True)), 200
    except services.RecordInvalid as error:
        raise invalid(error.errors) from None


@operation("GET", "/records/{record_id}", summary=_l("Get a record"), tag="Records", allow=ALL,
           responses={200: (_l("The record."), RECORD), 404: NOT_FOUND[1]})
def get_record(record_id: int):
    return record_json(get_or_404(Record, record_id))


@operation("PATCH", "/records/{record_id}", summary=_l("Update a record"), tag="Records",
           allow=MANAGERS, body=RECORD_FIELDS,
           description=_l("Only the fields sent change; a custom field set to null is removed."),
           responses={200: (_l("The record."), RECORD), 404: NOT_FOUND[1], 422: INVALID[1]})
def update_record(record_id: int):
    record = get_or_404(Record, record_id)
    body = parse_body("RecordFields")
    try:
        record = services.update_record(record, raw_values(body, record.record_type),
                                        partial=True)
    except services.RecordInvalid as error:
        raise invalid(error.errors) from None
    return record_json(record)


@operation("DELETE", "/records/{record_id}", summary=_l("Delete a record"), tag="Records",
           allow=MANAGERS, description=_l("Its connections to sequences end (reason "
                                          "“record deleted”) and stay as history."),
           responses={204: (_l("Deleted."), None), 404: NOT_FOUND[1]})
def delete_record(record_id: int):
    record = get_or_404(Record, record_id)
    try:
        services.delete_records([record.id])
    except ServiceError as error:
        raise ApiProblem(409, detail=str(error)) from None
    return Response(status=204)


@operation("GET", "/custom-fields", summary=_l("List custom fields"), tag="Records", allow=ALL,
           query=(Param("type", {"type": "string", "enum": TYPES, "default": "lead"}),),
           responses={200: (_l("The custom fields of this record type."),
                            {"type": "object", "required": ["data"], "properties": {
                                "data": {"type": "array", "items": CUSTOM_FIELD}}})})
def list_custom_fields(query: dict):
    rows = custom_fields(query["type"])
    return {"data": [{"id": f.id, "record_type": f.record_type, "key": f.key, "label": f.label,
                      "kind": f.kind, "choices": list(f.choices or [])} for f in rows]}
