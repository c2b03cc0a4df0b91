"""Error pages a person can act on, and the safety net under the input boundary.

`register` also installs the boundary's request class (saas/web/params.py): the two belong
together, one refusing bad input, the other turning what slips past into a clear 400.
"""

import logging
import re
import uuid

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest

from saas.i18n import _, _l

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
BAD_VALUE = _l("A value in this request could not be used (too long, out of range or not of "
               "the right kind). Check what you typed and try again.")


def _page(template: str, status: int, **context):
    if request.path.startswith("/api/"):  # the API answers in problem+json (saas/api)
        from saas.api.problems import problem_response

        return problem_response(status)
    if request.headers.get("HX-Request"):
        # htmx swaps nothing on 4xx/5xx by default; a short text is enough for the toast.
        return str(context.get("message") or _("Something went wrong.")), status
    return render_template(template, **context), status


def request_id() -> str:
    """The id of this request: the proxy's X-Request-ID when it is sane, else a new one."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


def _database_errors() -> tuple[type[BaseException], ...]:
    try:
        from psycopg import DataError as PsycopgDataError
    except ImportError:  # SQLite-only installs
        return (DataError,)
    return (DataError, PsycopgDataError)


def register(app: Flask) -> None:
    from saas.web.dates import locale
    from saas.web.params import install

    install(app)
    # The language the page speaks (`<html lang>`, the user menu's switcher), error pages too.
    app.jinja_env.globals["page_language"] = locale

    @app.before_request
    def _name_the_request():
        request_id()

    @app.after_request
    def _echo_request_id(response):
        response.headers.setdefault("X-Request-ID", request_id())
        return response

    @app.errorhandler(400)
    def bad_request(error):
        message = getattr(error, "description", None)
        if not message or message == BadRequest.description:  # werkzeug's own English text
            message = BAD_VALUE
        return _page("errors/400.html", 400, message=message)

    @app.errorhandler(403)
    def forbidden(error):
        return _page("errors/403.html", 403)

    @app.errorhandler(404)
    def not_found(error):
        return _page("errors/404.html", 404)

    @app.errorhandler(429)
    def too_many(error):
        return _page("errors/429.html", 429,
                     message=_("Too many attempts. Wait a minute, then try again."))

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return _page("errors/400.html", 400,
                     message=_("This form expired or did not come from this site. "
                               "Reload the page and try again."))

    def data_error(error):
        """A value the boundary missed and the database refused: a 400, not a 500."""
        from saas.extensions import db

        db.session.rollback()
        log.warning("database refused a value: %s %s request_id=%s: %s", request.method,
                    request.path, request_id(), str(error).splitlines()[0][:300])
        return _page("errors/400.html", 400, message=BAD_VALUE)

    for error_class in _database_errors():
        app.register_error_handler(error_class, data_error)

    @app.errorhandler(500)
    def server_error(error):
        from saas.extensions import db

        db.session.rollback()
        log.error("server error: %s %s request_id=%s", request.method, request.path,
                  request_id())
        return _page("errors/500.html", 500)
