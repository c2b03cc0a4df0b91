"""Settings > Calendar (system administrators): the working week, closure days one by one or
from a public-holiday preset, and their removal."""

from __future__ import annotations

from babel import dates as babel_dates
from flask import Blueprint, flash, redirect, render_template, url_for

from saas.admin.forms import ConfirmForm
from saas.auth.access import admin_required
from saas.calendars import services
from saas.calendars.forms import ClosureDayForm, PresetForm, WorkingWeekForm
from saas.calendars.models import ClosureDay
from saas.engine import clock
from saas.engine.windows import tenant_zone
from saas.i18n import _
from saas.tenancy import get_or_404
from saas.web.dates import locale

bp = Blueprint("calendars", __name__, url_prefix="/<tenant>/settings/calendar")


@bp.before_request
@admin_required
def _only_admins():
    return None


def day_label(day, width: str = "full") -> str:
    """A closure day as people read it: "Monday, March 29, 2027"."""
    return babel_dates.format_date(day, width, locale=locale())


def _show_errors(form, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")


def _page(week: WorkingWeekForm | None = None, closure: ClosureDayForm | None = None,
          preset: PresetForm | None = None, status: int = 200):
    if week is None:
        current = services.working_week()
        week = WorkingWeekForm(formdata=None, days=current.days, day_start=current.start,
                               day_end=current.end)
    return render_template(
        "calendars/index.html", week=week, closure=closure or ClosureDayForm(formdata=None),
        preset=preset or PresetForm(formdata=None), closures=services.closure_days(),
        confirm=ConfirmForm(), day_label=day_label,
        zone=getattr(tenant_zone(), "key", "UTC")), status


@bp.route("")
def index():
    return _page()


@bp.route("/week", methods=["POST"])
def save_week():
    form = WorkingWeekForm()
    if form.validate_on_submit():
        try:
            services.save_working_week(form.days.data, form.day_start.data.strip(),
                                       form.day_end.data.strip())
        except services.CalendarInvalid as invalid:
            _show_errors(form, invalid.errors)
        else:
            flash(_("The working week is saved."), "success")
            return redirect(url_for("calendars.index"))
    return _page(week=form, status=422)


@bp.route("/closures", methods=["POST"])
def add_closure():
    form = ClosureDayForm()
    if form.validate_on_submit():
        try:
            day = services.add_closure_day(form.day_value, form.name.data)
        except services.CalendarInvalid as invalid:
            _show_errors(form, invalid.errors)
        else:
            flash(_("“%(name)s” is a closure day.", name=day.name), "success")
            return redirect(url_for("calendars.index"))
    return _page(closure=form, status=422)


@bp.route("/presets", methods=["POST"])
def apply_preset():
    form = PresetForm()
    if form.validate_on_submit():
        try:
            today = clock.now().astimezone(tenant_zone()).date()
            added = services.apply_preset(form.preset.data, today)
        except services.CalendarInvalid as invalid:
            _show_errors(form, invalid.errors)
        else:
            flash(services.added_message(added), "success")
            return redirect(url_for("calendars.index"))
    return _page(preset=form, status=422)


@bp.route("/closures/<int:closure_id>/delete", methods=["POST"])
def remove_closure(closure_id: int):
    closure = get_or_404(ClosureDay, closure_id)
    if ConfirmForm().validate_on_submit():
        name = closure.name
        services.remove_closure_day(closure)
        flash(_("“%(name)s” is no longer a closure day.", name=name), "success")
    return redirect(url_for("calendars.index"))
