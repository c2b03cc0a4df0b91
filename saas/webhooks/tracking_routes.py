"""What recipients open: the open pixel, click redirects and the unsubscribe page with its RFC 8058
one-click POST. No sign-in; the signed, purpose-bound token is the authority, and a token that
does not check out (forged, another purpose, another tenant, another link) is a plain 404."""

from __future__ import annotations

import base64
import hashlib
import time

from flask import Blueprint, Response, abort, g, redirect, render_template, request
from sqlalchemy import select

from saas.engine.events import step_run_of
from saas.extensions import csrf, db
from saas.i18n import speaking
from saas.messaging import events, tracking
from saas.messaging.suppression import is_suppressed
from saas.records.models import Record
from saas.web.params import exact_arg, form_choice

bp = Blueprint("tracking", __name__, url_prefix="/<tenant>/t")
csrf.exempt(bp)

MAX_URL = 10_000  # a tracked link (signed: a longer one matches no token)
MAX_ADDRESS = 1_000  # an unsubscribe address (signed likewise)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _plain_404():
    abort(Response("Not found", 404, mimetype="text/plain"))


def _token(purpose: str, token: str, extra: str = "") -> tracking.Token:
    found = tracking.read(purpose, token, extra)
    if found is None or found.tenant_id != g.tenant.id:
        _plain_404()
    return found


def _minute() -> int:
    return int(time.time() // 60)


@bp.route("/o/<token>.gif")
def open_pixel(token: str):
    found = _token(tracking.OPEN, token)
    run = step_run_of(found.step_run_id)
    if run is not None:
        # At most one open per message and minute (image proxies fetch repeatedly).
        events.record(kind="open", provider="tracking", step_run_id=run.id,
                      provider_event_id=f"open:{run.id}:{_minute()}")
        db.session.commit()
    response = Response(PIXEL, mimetype="image/gif")
    response.headers["Cache-Control"] = "no-store, max-age=0"
    return response


@bp.route("/c/<token>")
def click(token: str):
    url = exact_arg("u", MAX_URL)
    found = _token(tracking.CLICK, token, url)
    if not url.lower().startswith(("http://", "https://")):
        _plain_404()
    run = step_run_of(found.step_run_id)
    if run is not None:
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        events.record(kind="click", provider="tracking", step_run_id=run.id, url=url,
                      provider_event_id=f"click:{run.id}:{digest}:{_minute()}")
        db.session.commit()
    return redirect(url, code=302)


@bp.route("/u/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    address = exact_arg("a", MAX_ADDRESS).lower()
    found = _token(tracking.UNSUBSCRIBE, token, address)
    if not address:
        _plain_404()
    run = step_run_of(found.step_run_id)
    language = _recipient_language(run)
    if request.method == "GET":
        with speaking(language, g.tenant.language):
            return render_template("messaging/unsubscribe.html", address=address,
                                   done=is_suppressed(address), tenant=g.tenant)
    events.record(kind="unsubscribe", provider="tracking", step_run_id=run.id if run else None,
                  address=address, provider_event_id=f"unsubscribe:{found.step_run_id}:{address}")
    db.session.commit()
    if form_choice("List-Unsubscribe", ("One-Click",)):  # RFC 8058, from the mail client
        return Response("Unsubscribed", 200, mimetype="text/plain")
    with speaking(language, g.tenant.language):
        return render_template("messaging/unsubscribe.html", address=address, done=True,
                               tenant=g.tenant)


def _recipient_language(run) -> str | None:
    """The language of the record the message went to (None: the workspace's)."""
    if run is None or run.record_id is None:
        return None
    return db.session.execute(select(Record.language).where(
        Record.id == run.record_id)).scalar_one_or_none()
