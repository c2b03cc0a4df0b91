"""Sellers' pages: the list a manager reads (who is away, who is full), and each seller's page
with their capacity, time off and the colleague who covers. A seller opens their own page; a
sequence manager or administrator opens anyone's (another seller's is a 404 for a seller)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from saas.admin.forms import ConfirmForm
from saas.auth.access import requires
from saas.auth.models import Role, User
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.sellers import cover, services, waiting
from saas.sellers.availability import is_full, on_leave, open_load
from saas.sellers.forms import CapacityForm, TimeOffForm
from saas.sellers.models import TimeOff
from saas.tenancy import get_or_404

bp = Blueprint("sellers", __name__, url_prefix="/<tenant>/sellers")


@bp.app_template_global()
def seller_waits(record_ids) -> dict[int, str]:
    """Why these records wait for a seller (record page, connected records)."""
    return waiting.reasons_for(record_ids)


@bp.app_template_global()
def segment_wait(segment_id) -> tuple[int, str] | None:
    """How many of a segment's records wait for a seller, and why (a connect job's line)."""
    return waiting.reason_for_segment(segment_id)


def _seller(user_id: int) -> User:
    seller = get_or_404(User, user_id)
    if seller.id != current_user.id and not services.is_manager(current_user):
        abort(404)
    return seller


@bp.route("/")
@requires(Role.SEQUENCE_MANAGER)
def index():
    sellers = services.active_sellers()
    load = open_load(s.id for s in sellers)
    leaves = on_leave(sellers)
    names = {s.id: s.name for s in sellers}
    rows = [{"seller": s, "open": load.of(s.id), "leave": leaves.get(s.id),
             "away": not s.available or s.id in leaves, "full": is_full(s, load)}
            for s in sellers]
    return render_template("sellers/index.html", rows=rows, names=names)


def _page(seller: User, capacity_form=None, time_off_form=None, status: int = 200):
    sellers = services.active_sellers()
    capacity_form = capacity_form or CapacityForm(capacity=seller.capacity,
                                                  formdata=None)
    time_off_form = time_off_form or TimeOffForm(formdata=None)
    time_off_form.cover_id.choices = [("", _("Nobody (activities stay with the seller)"))] + [
        (s.id, s.name) for s in sellers if s.id != seller.id]
    leaves = services.leaves_of(seller.id)
    covering = services.covering_for(seller.id)
    moved = cover.summaries([leave.id for leave in leaves] + [t.id for t, __ in covering])
    names = {s.id: s.name for s in sellers}
    load = open_load([seller.id])
    return render_template(
        "sellers/show.html", seller=seller, capacity_form=capacity_form,
        time_off_form=time_off_form, leaves=leaves, covering=covering, moved=moved,
        names=names, open_records=load.of(seller.id), away=on_leave([seller]).get(seller.id),
        confirm=ConfirmForm(), own=seller.id == current_user.id), status


@bp.route("/<int:user_id>")
@requires()
def show(user_id: int):
    return _page(_seller(user_id))


@bp.route("/<int:user_id>/capacity", methods=["POST"])
@requires()
def capacity(user_id: int):
    seller = _seller(user_id)
    form = CapacityForm()
    if not form.validate_on_submit():
        return _page(seller, capacity_form=form, status=422)
    try:
        services.set_capacity(seller, form.capacity.data)
    except ServiceError as error:
        form.capacity.errors = [str(error)]
        db.session.rollback()
        return _page(seller, capacity_form=form, status=422)
    db.session.commit()
    flash(_("%(name)s holds at most %(count)s open records.", name=seller.name,
            count=form.capacity.data) if form.capacity.data else
          _("%(name)s has no limit of open records.", name=seller.name), "success")
    return redirect(url_for("sellers.show", user_id=seller.id))


@bp.route("/<int:user_id>/time-off", methods=["POST"])
@requires()
def add_time_off(user_id: int):
    seller = _seller(user_id)
    form = TimeOffForm()
    form.cover_id.choices = []
    valid = form.validate_on_submit()
    if valid:
        errors = services.time_off_errors(seller, form.starts_on.data, form.ends_on.data,
                                          form.cover_id.data)
        for key, message in errors.items():
            getattr(form, key).errors = [*getattr(form, key).errors, message]
        valid = not errors
    if not valid:
        return _page(seller, time_off_form=form, status=422)
    leave = services.add_time_off(seller, starts_on=form.starts_on.data,
                                  ends_on=form.ends_on.data, note=form.note.data or "",
                                  cover_id=form.cover_id.data, by=current_user)
    db.session.commit()
    flash(_("Time off saved: %(name)s is away from %(start)s to %(end)s.", name=seller.name,
            start=leave.starts_on.isoformat(), end=leave.ends_on.isoformat()), "success")
    return redirect(url_for("sellers.show", user_id=seller.id))


@bp.route("/<int:user_id>/time-off/<int:time_off_id>/delete", methods=["POST"])
@requires()
def remove_time_off(user_id: int, time_off_id: int):
    seller = _seller(user_id)
    leave = db.session.execute(select(TimeOff).where(
        TimeOff.id == time_off_id, TimeOff.user_id == seller.id)).scalar_one_or_none()
    if leave is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        services.remove_time_off(leave, seller)
        db.session.commit()
        flash(_("Time off removed."), "success")
    return redirect(url_for("sellers.show", user_id=seller.id))
