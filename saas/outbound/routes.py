"""Settings > Webhooks (system administrators): subscriptions, their deliveries and attempts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from saas.auth.access import admin_required
from saas.errors import ServiceError
from saas.i18n import _, _l
from saas.outbound import queries, services
from saas.outbound.events import EVENT_TYPES
from saas.outbound.forms import WebhookForm
from saas.outbound.models import WebhookDelivery, WebhookSubscription
from saas.records.forms import CsrfForm
from saas.tenancy import get_or_404
from saas.web.params import cursor_arg

bp = Blueprint("outbound", __name__, url_prefix="/<tenant>/settings/webhooks")


@bp.before_request
@admin_required
def _only_admins():
    return None


STATUS_LABELS = {"pending": _l("Waiting"), "delivering": _l("Delivering"),
                 "delivered": _l("Delivered"), "failed": _l("Failed")}


@bp.context_processor
def _labels() -> dict:
    return {"delivery_status": lambda status: STATUS_LABELS.get(status, status)}


def _expired():
    flash(_("This form expired; nothing was changed. Try again."), "error")


@bp.route("")
def index():
    return render_template("outbound/index.html", rows=queries.subscriptions(),
                           disabled=queries.disabled(), form=CsrfForm(), events=EVENT_TYPES)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            subscription, secret = services.create_subscription(
                form.url.data, form.description.data or "", form.events.data)
        except services.WebhookInvalid as invalid:
            getattr(form, invalid.field).errors.append(str(invalid))
        else:
            return render_template("outbound/secret.html", subscription=subscription,
                                   secret=secret, created=True)
    return render_template("outbound/form.html", form=form, subscription=None), \
        422 if form.errors else 200


@bp.route("/<int:subscription_id>", methods=["GET", "POST"])
def edit(subscription_id: int):
    subscription = get_or_404(WebhookSubscription, subscription_id)
    form = WebhookForm(obj=subscription)
    if form.validate_on_submit():
        try:
            services.update_subscription(subscription, form.url.data,
                                         form.description.data or "", form.events.data)
        except services.WebhookInvalid as invalid:
            getattr(form, invalid.field).errors.append(str(invalid))
        else:
            flash(_("The webhook is saved."), "success")
            return redirect(url_for("outbound.index"))
    return render_template("outbound/form.html", form=form, subscription=subscription,
                           confirm=CsrfForm()), 422 if form.errors else 200


@bp.route("/<int:subscription_id>/delete", methods=["POST"])
def delete(subscription_id: int):
    subscription = get_or_404(WebhookSubscription, subscription_id)
    if not CsrfForm().validate_on_submit():
        _expired()
    else:
        services.delete_subscription(subscription)
        flash(_("The webhook is deleted: no more events go to it."), "success")
    return redirect(url_for("outbound.index"))


@bp.route("/<int:subscription_id>/rotate", methods=["POST"])
def rotate(subscription_id: int):
    subscription = get_or_404(WebhookSubscription, subscription_id)
    if not CsrfForm().validate_on_submit():
        _expired()
        return redirect(url_for("outbound.edit", subscription_id=subscription.id))
    secret = services.rotate_secret(subscription)
    return render_template("outbound/secret.html", subscription=subscription, secret=secret,
                           created=False)


@bp.route("/<int:subscription_id>/enable", methods=["POST"])
def enable(subscription_id: int):
    subscription = get_or_404(WebhookSubscription, subscription_id)
    if not CsrfForm().validate_on_submit():
        _expired()
    elif services.enable(subscription.id):
        flash(_("The webhook is enabled again: its waiting deliveries go out now."), "success")
    else:
        flash(_("This webhook was not disabled (someone may have enabled it already)."), "info")
    return redirect(url_for("outbound.index"))


@bp.route("/<int:subscription_id>/test", methods=["POST"])
def send_test(subscription_id: int):
    subscription = get_or_404(WebhookSubscription, subscription_id)
    if not CsrfForm().validate_on_submit():
        _expired()
        return redirect(url_for("outbound.index"))
    services.send_test(subscription)
    flash(_("A test event is on its way: its delivery shows below."), "success")
    return redirect(url_for("outbound.deliveries", subscription_id=subscription.id))


@bp.route("/<int:subscription_id>/deliveries")
def deliveries(subscription_id: int):
    subscription = get_or_404(WebhookSubscription, subscription_id)
    page = queries.deliveries(subscription.id, cursor_arg())
    return render_template("outbound/deliveries.html", subscription=subscription, page=page,
                           attempts=queries.attempts([d.id for d in page.items]),
                           form=CsrfForm(), events=EVENT_TYPES)


@bp.route("/<int:subscription_id>/deliveries/<int:delivery_id>/replay", methods=["POST"])
def replay(subscription_id: int, delivery_id: int):
    subscription = get_or_404(WebhookSubscription, subscription_id)
    original = get_or_404(WebhookDelivery, delivery_id)
    if original.subscription_id != subscription.id:
        abort(404)
    if not CsrfForm().validate_on_submit():
        _expired()
    else:
        try:
            services.replay(original)
        except ServiceError as error:
            flash(str(error), "error")
        else:
            flash(_("The event is sent again as a new delivery."), "success")
    return redirect(url_for("outbound.deliveries", subscription_id=subscription.id))
