"""Analytics: the sequences overview, a page per sequence (records, steps, A/B tests, charts),
its CSV export, and stopping an A/B test with a chosen version."""

from __future__ import annotations

from babel.numbers import format_decimal
from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_login import current_user

from saas.analytics import charts, export, queries, services, snapshots
from saas.analytics.forms import StopTestForm
from saas.auth.access import requires
from saas.auth.models import Role
from saas.engine import abtests, reasons
from saas.engine.models import AbTest
from saas.errors import ServiceError
from saas.i18n import _
from saas.sequences.models import Sequence
from saas.tenancy import get_or_404
from saas.web.dates import locale
from saas.web.params import bool_arg, choice_arg, int_arg
from saas.worklist.upnext import type_label

bp = Blueprint("analytics", __name__, url_prefix="/<tenant>/analytics")


@bp.before_request
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def _gate():
    return None


@bp.route("")
def index():
    return render_template("analytics/index.html", rows=queries.lineage_overview(),
                           sequence_status_label=reasons.sequence_status_label)


def _page_data(sequence: Sequence):
    now = abtests.now()
    period = queries.Period.parse(choice_arg("period", queries.PERIODS) or None, now)
    versions = queries.versions(sequence)
    chosen = _chosen_version(versions)
    summary, activity, computed_at = snapshots.figures(
        sequence, chosen, period, now, fresh=bool_arg("fresh"))
    panels = queries.ab_panels(sequence, now)
    return now, period, versions, chosen, summary, activity, panels, computed_at


def _chosen_version(versions: list[Sequence]) -> Sequence:
    """?version=<n>, else the active version, else the newest one."""
    wanted = int_arg("version", low=1)
    for v in versions:
        if v.version == wanted:
            return v
    return snapshots.default_version(versions)


@bp.route("/sequences/<int:sequence_id>")
def sequence(sequence_id: int):
    seq = get_or_404(Sequence, sequence_id)
    now, period, versions, chosen, summary, activity, panels, computed_at = _page_data(seq)
    steps, days = activity.steps, activity.days
    funnel = charts.funnel([(f"{r.label}. {r.step.name}", r.depth, r.reached, r.completed)
                            for r in steps]) if steps else None
    ab_charts = {p.test.id: charts.ab_rates(
        [(v.name, v.rate, v.ci[0], v.ci[1], v.winner) for v in p.versions], p.metric,
        chart_id=f"ab-chart-{p.test.id}") for p in panels}
    return render_template(
        "analytics/sequence.html", sequence=seq, versions=versions, chosen=chosen,
        period=period, periods=queries.PERIODS, summary=summary, steps=steps, panels=panels,
        days=days, funnel=funnel, timeline=charts.timeline(days), ab_charts=ab_charts,
        event_columns=list(queries.EVENT_COLUMNS.values()), stop_form=StopTestForm(), now=now,
        computed=snapshots.age_text(computed_at, now), event_labels=queries.EVENT_LABELS,
        type_label=type_label, fixed=_fixed, sequence_status_label=reasons.sequence_status_label,
        exit_reason_label=reasons.exit_reason_label, ab_status_label=reasons.ab_status_label,
        ab_outcome_label=reasons.ab_outcome_label, metric_rate=queries.metric_rate,
        metric_count=queries.metric_count)


def _fixed(value: float, digits: int) -> str:
    """A figure with exactly `digits` decimals, as the viewer's locale writes it ("5.0", "5,0")."""
    return format_decimal(value, format="#,##0." + "0" * digits, locale=locale())


@bp.route("/sequences/<int:sequence_id>/export.csv")
def export_csv(sequence_id: int):
    seq = get_or_404(Sequence, sequence_id)
    __, period, __, chosen, summary, activity, panels, __ = _page_data(seq)
    body = export.to_csv(_("%(sequence)s (version %(version)s)", sequence=seq.name,
                           version=chosen.version), period.label, summary,
                         activity.steps, panels)
    filename = f"sequence-{seq.id}-analytics-{period.key}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/ab/<int:test_id>/stop", methods=["POST"])
def stop_ab_test(test_id: int):
    test = get_or_404(AbTest, test_id)
    form = StopTestForm()
    target = url_for("analytics.sequence", sequence_id=test.sequence_id) + f"#ab-{test.id}"
    if not form.validate_on_submit():
        message = form.version.errors[0] if form.version.errors else \
            _("This form expired; nothing was changed. Try again.")
        flash(message, "error")
        return redirect(target)
    try:
        services.stop_ab_test(test.id, form.version.data, current_user.id)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(_("The A/B test is stopped: version %(version)s is sent from now on.",
                version=form.version.data), "success")
    return redirect(target)
