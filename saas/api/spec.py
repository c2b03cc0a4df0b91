"""The API's one table of operations: each routes a request and documents itself.

An operation names its method, path, who may call it, its query parameters and its body as JSON
Schemas. The same schemas check every request (this module is the API's input boundary) and
make the OpenAPI document (saas/api/openapi.py), so what is served and what is documented
cannot drift apart.

The texts people read (summaries, descriptions, a schema's `description`) are lazy (`_l`): the
table is built at import, and each document is made in its reader's language, the lazy texts
made plain strings by `plain_texts` (JSON and the validators take only strings).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache

import jsonschema_rs
from flask import Response, request
from flask_babel import LazyString
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from saas.api.models import KeyRole
from saas.api.problems import ApiProblem
from saas.i18n import _, _l
from saas.web.ids import BIGINT_MAX, INT_MAX, parse_id
from saas.web.pagination import cursor_position
from saas.web.params import query_fields

ALL = frozenset(KeyRole)
MANAGERS = frozenset({KeyRole.SEQUENCE_MANAGER})
SELLERS = frozenset({KeyRole.SEQUENCE_MANAGER, KeyRole.SELLER})
MAX_BODY = 5 * 1024 * 1024  # bytes: a bulk request of 1,000 records is about 500 KB
CONTROLS = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"

COMPONENTS: dict[str, dict] = {}
OPERATIONS: list[Operation] = []
# Path parameters by name: the largest id their table holds.
PATH_IDS = {"record_id": BIGINT_MAX, "enrollment_id": BIGINT_MAX, "step_run_id": BIGINT_MAX,
            "activity_id": BIGINT_MAX, "sequence_id": INT_MAX, "segment_id": INT_MAX,
            "template_id": INT_MAX, "field_id": INT_MAX, "suppression_id": INT_MAX,
            "webhook_id": INT_MAX}
Text = str | LazyString  # a text people read: lazy (`_l`) in the table, plain in a document


def plain_texts(value):
    """`value` (a schema, a document) with each lazy text a plain string, in the current
    language."""
    if isinstance(value, LazyString):
        return str(value)
    if isinstance(value, dict):
        return {key: plain_texts(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_texts(item) for item in value]
    return value


def text(max_length: int, **extra) -> dict:
    """A JSON string of at most `max_length` characters with no control character (tab and
    line breaks allowed): the same rule the web's boundary applies to forms."""
    return {"type": "string", "maxLength": max_length, "pattern": CONTROLS, **extra}


def nullable(schema: dict) -> dict:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def component(name: str, schema: dict) -> dict:
    """Register a named schema; returns its `$ref`."""
    COMPONENTS[name] = schema
    _validator.cache_clear()
    _fast.cache_clear()
    return ref(name)


def page_of(item: dict) -> dict:
    return {"type": "object", "required": ["data", "next_cursor"],
            "properties": {"data": {"type": "array", "items": item},
                           "next_cursor": {"type": ["string", "null"],
                                           "description": _l("Pass as `after` for the next page; "
                                                             "null on the last page.")}}}


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict
    description: Text = ""


LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
              _l("Items per page (1–200)."))
AFTER = Param("after", {"type": "string", "maxLength": 2000},
              _l("The `next_cursor` of the previous page."))


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    summary: Text
    tag: str  # a key of openapi.TAGS (the section's name in each language)
    view: Callable
    allow: frozenset
    query: tuple[Param, ...] = ()
    body: dict | None = None
    responses: dict[int, tuple[Text, dict | None]] = field(default_factory=dict)
    sequences: bool = False  # needs the licence that includes sequences
    description: Text = ""

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def writes(self) -> bool:
        return self.method != "GET"


def operation(method: str, path: str, *, summary: Text, tag: str, allow: frozenset = ALL,
              query: tuple[Param, ...] = (), body: dict | None = None,
              responses: dict[int, tuple[Text, dict | None]], sequences: bool = False,
              description: Text = ""):
    """Declare an API operation; the view gets path ids as ints, `query` and `body` parsed."""
    def decorator(view: Callable) -> Callable:
        OPERATIONS.append(Operation(method, path, view.__name__, summary, tag, view, allow,
                                    query, body, responses, sequences, description))
        return view
    return decorator


# --- reading a request --------------------------------------------------------------------------

def path_ids(op: Operation, values: dict) -> dict[str, int]:
    ids = {}
    for name in op.path_params:
        number = parse_id(values.get(name), PATH_IDS.get(name, INT_MAX))
        if number is None:
            raise ApiProblem(404)
        ids[name] = number
    return ids


def _query_value(param: Param, raw: str):
    schema = param.schema
    kind = schema.get("type")
    if kind == "integer":
        body = raw[1:] if raw.startswith("-") else raw
        if not body or len(body) > 19 or not (body.isascii() and body.isdigit()):
            raise ValueError(_("Use a whole number."))
        number = int(raw)
        low, high = schema.get("minimum", -BIGINT_MAX), schema.get("maximum", BIGINT_MAX)
        if not low <= number <= high:
            raise ValueError(_("Use a number from %(low)s to %(high)s.", low=low, high=high))
        return number
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(_("Use true or false."))
        return raw == "true"
    if len(raw) > schema.get("maxLength", 200):
        raise ValueError(_("Use at most %(limit)s characters.", limit=schema.get("maxLength")))
    if "enum" in schema and raw not in schema["enum"]:
        raise ValueError(_("Use one of: %(choices)s.", choices=", ".join(schema["enum"])))
    if schema.get("format") == "date-time":
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(_("Use a date and time such as 2026-12-06T09:30:00Z.")) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return raw


def parse_query(op: Operation) -> dict:
    """The operation's query parameters, typed and checked; others are ignored. Bad values are
    a 400 naming each parameter."""
    args = query_fields()
    values, errors = {}, []
    for param in op.query:
        raw = args.get(param.name)
        if raw is None or raw == "":
            values[param.name] = param.schema.get("default")
            continue
        try:
            values[param.name] = _query_value(param, raw)
        except ValueError as error:
            errors.append({"field": param.name, "message": str(error)})
    if errors:
        raise ApiProblem(400, _("Some query parameters need attention."), errors=errors)
    return values


def cursor(value: str | None, keys: list) -> list | None:
    """A page's position from `after`, or None for the first page; a cursor that is not one we
    gave (forged, tampered, of another list) is a 400, not a silent first page."""
    if value is None:
        return None
    position = cursor_position(value, keys)
    if position is None:
        raise ApiProblem(400, _("Some query parameters need attention."), errors=[
            {"field": "after", "message": _("This cursor is not valid here: pass the "
                                            "next_cursor of the previous page.")}])
    return position


def _no_constants(name: str):
    raise ValueError(name)


def read_json() -> object:
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiProblem(415)
    if (request.content_length or 0) > MAX_BODY:
        raise ApiProblem(413)
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY:
        raise ApiProblem(413)
    try:
        return json.loads(data, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise ApiProblem(400, _("The body is not valid JSON.")) from None


@cache
def _fast(name: str):
    """The Rust validator of the same schema: only says valid or not."""
    return jsonschema_rs.Draft202012Validator(
        {"components": {"schemas": plain_texts(COMPONENTS)},
         "$ref": f"#/components/schemas/{name}"})


@cache
def _validator(name: str) -> Draft202012Validator:
    document = {"components": {"schemas": plain_texts(COMPONENTS)}}
    registry = Registry().with_resource("urn:saas-api",
                                        Resource.from_contents(document, DRAFT202012))
    schema = {"$ref": f"urn:saas-api#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry)


def _pointer(path) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "/"


def _message(error) -> tuple[str, str]:
    """(field, message) for one schema error, in the client's language."""
    where = _pointer(error.absolute_path)
    kind, value = error.validator, error.validator_value
    if kind == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else ""
        return f"{where.rstrip('/')}/{name}", _("This field is required.")
    if kind == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        return where, _("Unknown field(s): %(names)s.", names=", ".join(extra[:5]))
    if kind == "type":
        kinds = value if isinstance(value, list) else [value]
        return where, _("Use a value of type %(kinds)s.", kinds=" or ".join(kinds))
    if kind == "maxLength":
        return where, _("Use at most %(limit)s characters.", limit=value)
    if kind == "minLength":
        return where, _("Enter a value.")
    if kind == "pattern":
        return where, _("Remove the control characters from this value.")
    if kind == "enum":
        return where, _("Use one of: %(choices)s.", choices=", ".join(map(str, value)))
    if kind in ("minimum", "maximum"):
        return where, _("This number is out of range.")
    if kind == "maxItems":
        return where, _("Send at most %(limit)s items.", limit=value)
    if kind == "minItems":
        return where, _("Send at least %(limit)s item(s).", limit=value)
    if kind == "maxProperties":
        return where, _("Send at most %(limit)s fields.", limit=value)
    return where, _("This value is not valid here.")


def parse_body(name: str) -> object:
    """The JSON body checked against the component `name`: a 422 listing each bad field."""
    data = read_json()
    if _fast(name).is_valid(data):
        return data
    errors = sorted(_validator(name).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        listed = []
        for error in errors[:100]:
            where, message = _message(error)
            listed.append({"field": where, "message": str(message)})
        raise ApiProblem(422, errors=listed)
    return data


# --- writing an answer --------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if math.isfinite(value) else None
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(data, default=_plain, ensure_ascii=False), status=status,
                        mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
