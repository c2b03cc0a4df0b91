"""Settings > Messaging > Senders: each sender address's bounce and complaint rates over the last
7 days, its caps, its pause and a manager's resume; the per-recipient-domain daily cap."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from saas.auth.access import requires
from saas.auth.models import Role
from saas.engine import sender_settings as service
from saas.engine.sender_health import BOUNCE_LIMIT, COMPLAINT_LIMIT, MIN_SENDS, resume
from saas.engine.senders import CAP_LIMITS, Sender
from saas.i18n import _
from saas.records.forms import CsrfForm
from saas.tenancy import get_or_404
from saas.web.params import form_id, form_text

bp = Blueprint("senders", __name__, url_prefix="/<tenant>/settings/messaging/senders")
manager_required = requires(Role.SEQUENCE_MANAGER, Role.SYSTEM_ADMINISTRATOR)


@bp.before_request
@manager_required
def _only_managers():
    return None


def _page(errors: dict | None = None, values: dict | None = None, status: int = 200,
          partial: bool = False):
    return render_template(
        "senders/_senders.html" if partial else "senders/index.html",
        senders=service.overview(), domain_cap=service.domain_cap(), form=CsrfForm(),
        sellers=service.sellers(),
        errors=errors or {}, values=values or {}, limits={"bounce": BOUNCE_LIMIT,
                                                          "complaint": COMPLAINT_LIMIT,
                                                          "sends": MIN_SENDS}), status


@bp.route("")
def index():
    return _page(partial=request.headers.get("HX-Request") == "true")


@bp.route("/caps", methods=["POST"])
def caps():
    form = CsrfForm()
    address = form_text("address", 254)
    if not form.validate_on_submit():
        flash(_("This form expired; nothing was changed. Try again."), "error")
        return redirect(url_for("senders.index"))
    raw = {name: form_text(name, 12) for name in CAP_LIMITS}
    try:
        known = service.set_caps(address, raw)
    except service.CapsInvalid as invalid:
        return _page({address: invalid.errors}, {address: raw}, 422)
    if not known:
        flash(_("%(address)s is not one of your senders.", address=address), "error")
    else:
        flash(_("The caps of %(address)s are saved.", address=address.lower()), "success")
    return redirect(url_for("senders.index"))


@bp.route("/domain-cap", methods=["POST"])
def domain_cap():
    form = CsrfForm()
    raw = form_text("domain_daily_cap", 12)
    if not form.validate_on_submit():
        flash(_("This form expired; nothing was changed. Try again."), "error")
        return redirect(url_for("senders.index"))
    try:
        service.set_domain_cap(raw)
    except service.CapsInvalid as invalid:
        return _page({"": invalid.errors}, {"": {"domain_daily_cap": raw}}, 422)
    flash(_("The daily cap per recipient domain is saved."), "success")
    return redirect(url_for("senders.index"))


@bp.route("/pool", methods=["POST"])
def pool():
    form = CsrfForm()
    raw = {"pool_address": form_text("pool_address", 254), "pool_seller": form_id("pool_seller")}
    if not form.validate_on_submit():
        flash(_("This form expired; nothing was changed. Try again."), "error")
        return redirect(url_for("senders.index"))
    try:
        address = service.add_to_pool(raw["pool_address"], raw["pool_seller"])
    except service.CapsInvalid as invalid:
        return _page({"": invalid.errors}, {"": raw}, 422)
    flash(_("%(address)s is one of the seller’s senders: their automated emails rotate among "
            "them.", address=address), "success")
    return redirect(url_for("senders.index"))


@bp.route("/<int:sender_id>/resume", methods=["GET", "POST"])
def resume_sender(sender_id: int):
    sender = get_or_404(Sender, sender_id)
    form = CsrfForm()
    if request.method == "GET":
        return render_template("senders/resume.html", sender=sender, form=form)
    if not form.validate_on_submit():
        flash(_("This form expired; nothing was changed. Try again."), "error")
    elif resume(sender.id, current_user.id):
        flash(_("Sending from %(address)s is resumed: its waiting emails go out now, within "
                "its caps.", address=sender.address), "success")
    else:
        flash(_("%(address)s was not paused (someone may have resumed it already).",
                address=sender.address), "info")
    return redirect(url_for("senders.index"))
