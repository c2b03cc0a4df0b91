"""Errors as RFC 9457 problem details (`application/problem+json`), with field-level messages.

A problem has a `status`, a `title` (what went wrong, in the client's language), an optional
`detail`, and for bad input `errors`: one `{"field", "message"}` per field, the field named as a
JSON pointer into the body (`/records/3/email`) or as the query parameter's name.
"""

from __future__ import annotations

import json

from flask import Response
from werkzeug.http import HTTP_STATUS_CODES

from saas.i18n import _

PROBLEM_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """Raised anywhere under an API view; answered as a problem."""

    def __init__(self, status: int, title: str | None = None, detail: str | None = None, *,
                 errors: list[dict] | None = None, headers: dict | None = None):
        super().__init__(title or HTTP_STATUS_CODES.get(status, "Error"))
        self.status, self.title, self.detail = status, title, detail
        self.errors, self.headers = errors, headers or {}


def default_title(status: int) -> str:
    titles = {
        400: _("The request could not be read."),
        401: _("An API key is needed: send it as “Authorization: Bearer <key>”."),
        403: _("This API key may not do this."),
        404: _("Nothing was found at this address."),
        405: _("This address does not take this method."),
        409: _("The request conflicts with the current state."),
        413: _("The request body is too large."),
        415: _("Send the body as JSON (Content-Type: application/json)."),
        422: _("Some fields need attention."),
        429: _("Too many requests for this API key. Wait, then try again."),
        500: _("Something went wrong on our side. Try again later."),
    }
    return titles.get(status) or HTTP_STATUS_CODES.get(status, "Error")


def problem_response(status: int, title: str | None = None, detail: str | None = None, *,
                     errors: list[dict] | None = None, headers: dict | None = None) -> Response:
    body: dict = {"type": "about:blank", "status": status, "title": title or default_title(status)}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_exception(problem: ApiProblem) -> Response:
    return problem_response(problem.status, problem.title, problem.detail, errors=problem.errors,
                            headers=problem.headers)


def field_errors(errors: dict[str, str]) -> list[dict]:
    """A service's `{field: message}` as the problem's list, each field a JSON pointer (a
    record's custom field `custom.tier` is `/custom/tier`, where the body holds it)."""
    return [{"field": "/" + key.replace("custom.", "custom/", 1), "message": str(message)}
            for key, message in errors.items()]


def invalid(errors: dict[str, str] | list[dict], title: str | None = None) -> ApiProblem:
    listed = errors if isinstance(errors, list) else field_errors(errors)
    return ApiProblem(422, title, errors=listed)
