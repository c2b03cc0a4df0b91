"""Error pages a person can act on."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError


def _page(template: str, status: int, **context):
    if request.headers.get("HX-Request"):
        # htmx swaps nothing on 4xx/5xx by default; a short text is enough for the toast.
        return context.get("message", "Something went wrong."), status
    return render_template(template, **context), status


def register(app: Flask) -> None:
    @app.errorhandler(403)
    def forbidden(error):
        return _page("errors/403.html", 403)

    @app.errorhandler(404)
    def not_found(error):
        return _page("errors/404.html", 404)

    @app.errorhandler(429)
    def too_many(error):
        return _page("errors/429.html", 429,
                     message="Too many attempts. Wait a minute, then try again.")

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return _page("errors/400.html", 400,
                     message="This form expired or did not come from this site. "
                             "Reload the page and try again.")

    @app.errorhandler(500)
    def server_error(error):
        from saas.extensions import db

        db.session.rollback()
        return _page("errors/500.html", 500)
