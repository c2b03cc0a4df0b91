"""Settings > Messaging (providers, senders, a test message) and the suppression list, for system
administrators."""

from __future__ import annotations

from html import escape

import phonenumbers
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from saas.auth.access import admin_required
from saas.auth.models import User, UserStatus
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.messaging import settings_service as service
from saas.messaging.config import config_of, raw_settings
from saas.messaging.delivery import send_email, send_sms
from saas.messaging.models import Suppression
from saas.records.forms import CsrfForm
from saas.web import links
from saas.web.pagination import keyset_page
from saas.web.params import cursor_arg, form_text, text_arg

bp = Blueprint("messaging", __name__, url_prefix="/<tenant>/settings/messaging")

# A provider call's outcome (SendResult.status) as the test message's result names it.
STATUS_LABELS = {"retry": _l("to be retried"), "unknown": _l("unknown"), "failed": _l("failed")}


@bp.before_request
@admin_required
def _only_admins():
    return None


def _users() -> list[User]:
    return list(db.session.execute(select(User).where(
        User.status == UserStatus.ACTIVE.value).order_by(User.name)).scalars())


def _render_settings(values: dict, sellers: dict, errors: dict, status: int = 200):
    raw = raw_settings(g.tenant)
    config = config_of(g.tenant)
    return render_template(
        "messaging/settings.html", values=values, sellers=sellers, errors=errors,
        users=_users(), has_sendgrid_key=bool(raw.get("sendgrid_key")),
        has_twilio_token=bool(raw.get("twilio_token")), config=config, form=CsrfForm(),
        webhook_urls={  # from PUBLIC_URL: an administrator copies them into the providers
            name: links.external(f"webhooks.{endpoint}", tenant=g.tenant.slug)
            for name, endpoint in (("events", "sendgrid_events"), ("inbound", "sendgrid_inbound"),
                                   ("twilio_inbound", "twilio_inbound"))}), status


def _settings_form() -> dict[str, str]:
    """The settings form's fields (text, secrets and their clear boxes), each bounded."""
    names = [*service.TEXT_FIELDS, *service.SECRET_FIELDS,
             *(f"clear_{name}" for name in service.SECRET_FIELDS)]
    return {name: form_text(name) for name in names}


def _sellers_from_form() -> dict[int, dict]:
    sellers = {}
    for user in _users():
        address = form_text(f"seller-{user.id}-from_address").strip()
        name = form_text(f"seller-{user.id}-from_name").strip()
        if address or name:
            sellers[user.id] = {"from_address": address, "from_name": name}
    return sellers


def _phone_problem(phone: str) -> str | None:
    """Why a test number cannot be texted, or None (international format, a real number)."""
    shown = phone if len(phone) <= 40 else phone[:40] + "…"
    if len(phone) > 40 or not phone.startswith("+"):
        return _("“%(number)s”: enter the number in international format, e.g. "
                 "+44 20 7946 0958.", number=shown)
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        valid = False
    return None if valid else _("“%(number)s” is not a valid phone number.", number=shown)


@bp.route("", methods=["GET", "POST"])
def settings():
    if request.method == "GET":
        raw = raw_settings(g.tenant)
        values = {name: raw.get(name, "") for name in service.TEXT_FIELDS}
        sellers = {int(k): v for k, v in (raw.get("sellers") or {}).items()}
        return _render_settings(values, sellers, {})
    form = CsrfForm()
    fields = _settings_form()
    values = {name: fields[name] for name in service.TEXT_FIELDS}
    sellers = _sellers_from_form()
    if not form.validate_on_submit():
        flash(_("This form expired; nothing was saved. Try again."), "error")
        return _render_settings(values, sellers, {}, 400)
    try:
        service.save_settings(g.tenant, fields, sellers)
    except service.SettingsInvalid as invalid:
        return _render_settings(values, sellers, invalid.errors, 422)
    except ServiceError as error:  # e.g. no encryption key on this server
        db.session.rollback()
        flash(error.message, "error")
        return _render_settings(values, sellers, {}, 422)
    flash(_("Messaging settings saved."), "success")
    return redirect(url_for("messaging.settings"))


@bp.route("/test", methods=["POST"])
def send_test():
    form = CsrfForm()
    if not form.validate_on_submit():
        flash(_("This form expired; nothing was sent. Try again."), "error")
        return redirect(url_for("messaging.settings"))
    config = config_of(g.tenant)
    phone = form_text("phone").strip()
    problem = _phone_problem(phone) if phone else None
    if problem:
        flash(problem, "error")
        return redirect(url_for("messaging.settings"))
    if phone:
        result = send_sms(g.tenant.id, to=phone, purpose="test", config=config,
                          body=_("Test message from %(workspace)s: texts work.",
                                 workspace=g.tenant.name))
        target = phone
    else:
        target = current_user.email
        works = _("Email sending works.")
        result = send_email(g.tenant.id, to=target, purpose="test", config=config,
                            subject=_("Test message from %(workspace)s",
                                      workspace=g.tenant.name),
                            html=f"<p>{escape(works)}</p>", text=works)
    db.session.commit()
    if result.status == "sent" and result.provider == "outbox":
        flash(_("Test message to %(target)s handed to the outbox (no provider is configured).",
                target=target), "success")
    elif result.status == "sent":
        flash(_("Test message to %(target)s handed to %(provider)s.", target=target,
                provider=result.provider.title()), "success")
    else:
        status = str(STATUS_LABELS.get(result.status, result.status))
        flash(_("The test message to %(target)s was not sent (%(status)s): %(reason)s",
                target=target, status=status, reason=result.error or _("no reason given")),
              "error")
    return redirect(url_for("messaging.settings"))


@bp.route("/suppressions", methods=["GET", "POST"])
def suppressions():
    form = CsrfForm()
    errors: dict = {}
    address = ""
    status = 200
    if request.method == "POST":
        address = form_text("address")
        if not form.validate_on_submit():
            flash(_("This form expired; nothing was added. Try again."), "error")
        else:
            try:
                added = service.add_suppression(address)
            except service.SettingsInvalid as invalid:
                errors, status = invalid.errors, 422
            else:
                flash(_("%(address)s is on the suppression list: no sequence will contact it.",
                        address=added), "success")
                return redirect(url_for("messaging.suppressions"))
    query = text_arg("q").lower()
    stmt = select(Suppression)
    if query:
        stmt = stmt.where(Suppression.address.contains(query, autoescape=True))
    page = keyset_page(stmt, [Suppression.id], cursor_arg(), descending=True,
                       cursor_of=lambda s: (s.id,))
    return render_template("messaging/suppressions.html", page=page, form=form, q=query,
                           address=address, errors=errors), status


@bp.route("/suppressions/<int:entry_id>/remove", methods=["GET", "POST"])
def remove_suppression(entry_id: int):
    from saas.tenancy import get_or_404

    entry = get_or_404(Suppression, entry_id)
    form = CsrfForm()
    if request.method == "GET":
        return render_template("messaging/remove_suppression.html", entry=entry, form=form)
    if not form.validate_on_submit():
        flash(_("This form expired; nothing was removed. Try again."), "error")
        return redirect(url_for("messaging.suppressions"))
    service.remove_suppression(entry)
    flash(_("%(address)s was removed from the suppression list.", address=entry.address),
          "success")
    return redirect(url_for("messaging.suppressions"))
