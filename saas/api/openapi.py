"""The OpenAPI 3.1 document, built from the operation table (saas/api/spec.py), and the
readable reference page made from the same document."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from saas.api.problems import PROBLEM_TYPE
from saas.api.spec import COMPONENTS, OPERATIONS, PATH_IDS, json_response, ref
from saas.web.ids import INT_MAX

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

_PROBLEMS = {
    "400": "The request could not be read (a bad query parameter, JSON or cursor).",
    "401": "No API key, or one that is unknown, revoked, expired or of another organization.",
    "403": "The key's role may not do this.",
    "429": "Too many requests for this key: wait for `Retry-After` seconds.",
}


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {PROBLEM_TYPE: {"schema": ref("Problem")}}}


def _operation(op) -> dict:
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1,
                              "maximum": PATH_IDS.get(name, INT_MAX)}}
                  for name in op.path_params]
    parameters += [{"name": p.name, "in": "query", "required": False, "schema": p.schema,
                    **({"description": p.description} if p.description else {})}
                   for p in op.query]
    if op.method == "POST":
        parameters.append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "Retry safely: the same key and body within 24 hours gets the first "
                           "answer again, without a second effect.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                       "pattern": "^[\\x20-\\x7e]+$"}})
    responses: dict = {}
    for status, (description, schema) in sorted(op.responses.items()):
        if status >= 400:
            responses[str(status)] = _problem(description)
        elif schema is None:
            responses[str(status)] = {"description": description}
        else:
            responses[str(status)] = {"description": description,
                                      "content": {"application/json": {"schema": schema}}}
    for status, description in _PROBLEMS.items():
        responses.setdefault(status, _problem(description))
    if op.path_params:
        responses.setdefault("404", _problem("Not found (or of another organization)."))
    if op.body is not None:
        responses.setdefault("413", _problem("The body is larger than 5 MB."))
        responses.setdefault("415", _problem("The body is not JSON."))
        responses.setdefault("422", _problem("Some fields need attention; `errors` names "
                                             "each."))
    if op.method == "POST":
        responses.setdefault("409", _problem("A request with this Idempotency-Key was carried "
                                             "out and its answer is not available."))
    spec = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
            "parameters": parameters, "responses": responses, "security": [{"apiKey": []}]}
    if op.description:
        spec["description"] = op.description
    if op.body is not None:
        spec["requestBody"] = {"required": True,
                               "content": {"application/json": {"schema": op.body}}}
    return spec


def document() -> dict:
    paths: dict = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    base = current_app.config.get("PUBLIC_URL") or ""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sales sequences API", "version": "1.0.0",
                 "description": "Records, segments, sequences, activities, templates, analytics "
                                "and the suppression list of one organization. Authenticate "
                                "with `Authorization: Bearer <key>` (Settings → API keys)."},
        "servers": [{"url": f"{base.rstrip('/')}/api/v1/{{tenant}}",
                     "variables": {"tenant": {"default": "your-organization",
                                              "description": "Your organization's address "
                                                             "name, as in its web URLs."}}}],
        "paths": paths,
        "components": {"schemas": COMPONENTS,
                       "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
    }


@docs_bp.route("/openapi.json")
def openapi_json():
    response = json_response(document())
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@docs_bp.route("/docs")
def reference():
    spec = document()
    tags: dict[str, list] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            tags.setdefault(op["tags"][0], []).append((method.upper(), path, op))
    return render_template("api/reference.html", spec=spec, tags=tags)
