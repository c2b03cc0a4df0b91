"""The OpenAPI 3.1 document, built from the operation table (saas/api/spec.py), and the
readable reference page made from the same document.

A document speaks one language: the reference page its reader's; `/api/v1/openapi.json` English
unless asked otherwise with `?lang=fr`. Clients, code generators and schemathesis read that
address, so it stays the same whoever fetches it (a browser's Accept-Language is not read).
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, render_template
from flask_babel import get_locale
from markupsafe import Markup, escape

from saas.api.problems import PROBLEM_TYPE, problem_response
from saas.api.spec import COMPONENTS, OPERATIONS, PATH_IDS, json_response, plain_texts, ref
from saas.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, _l, _pl, is_language, speaking
from saas.web.ids import INT_MAX
from saas.web.params import text_arg

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

# The operations' sections (`tag=` in the table): a stable key, its name in each language.
TAGS = {
    "Records": _l("Records"), "Segments": _l("Segments"), "Sequences": _l("Sequences"),
    "Enrollments": _l("Enrollments"), "Activities": _l("Activities"),
    "Templates": _l("Templates"), "Analytics": _l("Analytics"),
    "Suppressions": _l("Suppressions"), "Webhooks": _l("Webhooks"),
}
# Where a parameter is sent (its `in`), as the reference page names it.
LOCATIONS = {"path": _pl("where a parameter is sent", "path"),
             "query": _pl("where a parameter is sent", "query"),
             "header": _pl("where a parameter is sent", "header")}
_PROBLEMS = {
    "400": _l("The request could not be read (a bad query parameter, JSON or cursor)."),
    "401": _l("No API key, or one that is unknown, revoked, expired or of another "
              "organization."),
    "403": _l("The key's role may not do this."),
    "429": _l("Too many requests for this key: wait for `Retry-After` seconds."),
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
            "description": _l("Retry safely: the same key and body within 24 hours gets the "
                              "first answer again, without a second effect."),
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
        responses.setdefault("404", _problem(_l("Not found (or of another organization).")))
    if op.body is not None:
        responses.setdefault("413", _problem(_l("The body is larger than 5 MB.")))
        responses.setdefault("415", _problem(_l("The body is not JSON.")))
        responses.setdefault("422", _problem(_l("Some fields need attention; `errors` names "
                                                "each.")))
    if op.method == "POST":
        responses.setdefault("409", _problem(_l("A request with this Idempotency-Key was "
                                                "carried out and its answer is not available.")))
    spec = {"operationId": op.operation_id, "summary": op.summary,
            "tags": [TAGS.get(op.tag, op.tag)],
            "parameters": parameters, "responses": responses, "security": [{"apiKey": []}]}
    if op.description:
        spec["description"] = op.description
    if op.body is not None:
        spec["requestBody"] = {"required": True,
                               "content": {"application/json": {"schema": op.body}}}
    return spec


def document(language: str | None = None) -> dict:
    """The document in `language` (default: the current request's), every text a string.

    Made once per language and app (the table is complete once the modules are imported; a
    build resolves ~300 texts, ~25 ms): the same dict is shared, so read it, do not change it."""
    if language is not None:
        with speaking(language):
            return document()
    made = current_app.extensions.setdefault("api_documents", {})
    key = (str(get_locale() or DEFAULT_LANGUAGE), current_app.config.get("PUBLIC_URL") or "")
    if key not in made:
        made[key] = _build(key[1])
    return made[key]


def _build(base: str) -> dict:
    paths: dict = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return plain_texts({
        "openapi": "3.1.0",
        "info": {"title": _l("Sales sequences API"), "version": "1.0.0",
                 "description": _l("Records, segments, sequences, activities, templates, "
                                   "analytics and the suppression list of one organization. "
                                   "Authenticate with `Authorization: Bearer <key>` (Settings "
                                   "→ API keys).")},
        "servers": [{"url": f"{base.rstrip('/')}/api/v1/{{tenant}}",
                     "variables": {"tenant": {"default": "your-organization",
                                              "description": _l("Your organization's address "
                                                                "name, as in its web URLs.")}}}],
        "paths": paths,
        "components": {"schemas": COMPONENTS,
                       "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
    })


@docs_bp.route("/openapi.json")
def openapi_json():
    # English unless `?lang=` asks for another language (module docstring).
    language = text_arg("lang", 16) or DEFAULT_LANGUAGE
    if not is_language(language):
        return problem_response(400, _("Some query parameters need attention."), errors=[
            {"field": "lang", "message": _("Use one of: %(choices)s.",
                                           choices=", ".join(LANGUAGES))}])
    response = json_response(document(language))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


_CODE = re.compile(r"`([^`]+)`")


def prose(text: str) -> Markup:
    """A description as HTML: its `code` spans as <code>, the rest escaped."""
    return Markup(_CODE.sub(  # noqa: S704 - escaped first; only our <code> added
r"<code>\1</code>", str(escape(text))))


@docs_bp.route("/docs")
def reference():
    """The document in the reader's language; sections keep their English key as anchor."""
    spec = document()
    names = {str(name): key for key, name in TAGS.items()}
    tags: dict[tuple[str, str], list] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            name = op["tags"][0]
            anchor = names.get(name, name).lower().replace(" ", "-")
            tags.setdefault((anchor, name), []).append((method.upper(), path, op))
    return render_template("api/reference.html", spec=spec, tags=tags, prose=prose,
                           locations=LOCATIONS)
