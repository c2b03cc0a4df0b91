"""The API's blueprint: every request authenticated by its key, scoped to the key's tenant,
checked against the operation's roles, rate limited per key; every error a problem.

`/api/v1/<tenant>/...`: the tenant comes from the URL by the same fail-closed tenancy as the
web (saas/auth/tenants.py), and a key of another tenant is refused as if it did not exist.
Sign-in cookies are not read here (no CSRF on the API): only `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import hashlib
import logging
import time

from flask import Blueprint, current_app, g, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from saas.api import idempotency
from saas.api.keys import key_for, touch
from saas.api.models import KeyRole
from saas.api.problems import ApiProblem, from_exception, problem_response
from saas.api.spec import Operation, json_response, parse_query, path_ids
from saas.auth.models import Role, User, UserStatus
from saas.extensions import csrf, db, limiter
from saas.i18n import _
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1/<tenant>")
csrf.exempt(bp)


class ApiPrincipal:
    """`current_user` during an API request: the key's user, with the key's role only."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, key, user: User):
        self.key, self.user = key, user
        self.roles = ([Role.SELLER.value] if key.role == KeyRole.SELLER
                      else [Role.SEQUENCE_MANAGER.value])

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles

    @property
    def is_admin(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.user.get_id()

    def __getattr__(self, name):
        return getattr(self.user, name)


def _token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, __, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


def rate_key() -> str:
    """Requests are counted per key (hashed: the counter's name never holds the key)."""
    return "api:" + hashlib.sha256(_token().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, detail=detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def authenticate() -> None:
    token = _token()
    if not token:
        raise _unauthorized(_("Send your API key as “Authorization: Bearer <key>”."))
    key = key_for(token)
    if key is None or g.tenant is None or key.tenant_id != g.tenant.id:
        raise _unauthorized(_("This API key is not valid for this organization."))
    if key.revoked_at is not None:
        raise _unauthorized(_("This API key was revoked."))
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise _unauthorized(_("This API key has expired."))
    user = db.session.execute(select(User).where(User.id == key.user_id)).scalar_one_or_none()
    if user is None or user.status != UserStatus.ACTIVE.value:
        raise _unauthorized(_("The user this API key acts as is no longer active."))
    touch(key)
    g.api_key = key
    g._login_user = ApiPrincipal(key, user)  # flask_login's current_user for the services


def authorize(op: Operation) -> None:
    key = g.api_key
    if op.writes and key.role == KeyRole.READ_ONLY:
        raise ApiProblem(403, detail=_("This API key is read only."))
    if key.key_role not in op.allow:
        raise ApiProblem(403, detail=_("This API key’s role may not do this."))
    if op.sequences and not g.tenant.licence_includes_sequences:
        raise ApiProblem(403, detail=_("Your organization’s licence does not include "
                                       "sequences."))


def _view(op: Operation):
    def view(**values):
        authorize(op)
        kwargs: dict = path_ids(op, values)
        if op.query:
            kwargs["query"] = parse_query(op)
        replay = idempotency.begin(op) if op.method == "POST" else None
        if replay is not None:
            return replay
        result = op.view(**kwargs)
        response = result if not isinstance(result, tuple) else json_response(*result)
        if not hasattr(response, "status_code"):
            response = json_response(response)
        idempotency.finish(response)
        return response
    view.__name__ = op.operation_id
    return view


def _flask_rule(path: str) -> str:
    return path.replace("{", "<").replace("}", ">")


def route(operations: list[Operation]) -> None:
    """Route the declared operations on the blueprint (saas/api/routes.py, at import)."""
    for op in operations:
        limited = limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=rate_key,
                                scope="api")(_view(op))
        bp.add_url_rule(_flask_rule(op.path), endpoint=op.operation_id, view_func=limited,
                        methods=[op.method])


@bp.before_request
def _authenticate() -> None:
    authenticate()


@bp.after_request
def _rate_headers(response):
    """RateLimit-* (the IETF draft's names): the limit, what is left, seconds to the reset."""
    current = getattr(limiter, "current_limit", None)
    if current is not None:
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
        response.headers["RateLimit-Reset"] = str(max(0, int(current.reset_at - time.time())))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ApiProblem)
def _problem(problem: ApiProblem):
    db.session.rollback()
    return from_exception(problem)


@bp.errorhandler(HTTPException)
def _http_problem(error: HTTPException):
    db.session.rollback()
    headers = {}
    if error.code == 429:
        retry = getattr(error, "retry_after", None)
        current = getattr(limiter, "current_limit", None)
        if retry is None and current is not None:
            retry = max(1, int(current.reset_at - time.time()))
        headers["Retry-After"] = str(retry or 60)
    if error.code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(error.code or 500, headers=headers)
