"""The analytics page as CSV: one row per figure group, the same numbers as on the page."""

from __future__ import annotations

import csv
import io

from saas.analytics.queries import AbPanel, RecordSummary, StepFigures
from saas.records.export import safe_cell

STEP_COLUMNS = ["delivered", "opened", "clicked", "replied", "bounced", "unsubscribed"]


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def to_csv(sequence_name: str, period_label: str, summary: RecordSummary,
           steps: list[StepFigures], panels: list[AbPanel]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["sequence", safe_cell(sequence_name, "text"), "period", period_label])
    w.writerow([])
    w.writerow(["records", "count"])
    for key in ("connected", "active", "paused", "completed", "exited", "disconnected"):
        w.writerow([key, getattr(summary, key)])
    for reason, count in sorted(summary.exited_by_reason.items()):
        w.writerow([f"exited: {reason}", count])
    if summary.goal_reached is not None:
        w.writerow(["goal reached", summary.goal_reached])
    w.writerow(["median days to complete",
                "" if summary.median_days is None else f"{summary.median_days:.2f}"])
    w.writerow([])
    w.writerow(["step", "name", "type", "reached", "completed", "completion rate", "skipped",
                "overdue", "failed", *STEP_COLUMNS, *(f"{c} rate" for c in STEP_COLUMNS)])
    for row in steps:
        events = [row.events.get(c, 0) if row.is_message else "" for c in STEP_COLUMNS]
        rates = [_rate(row.rate(row.events.get(c, 0))) if row.is_message else ""
                 for c in STEP_COLUMNS]
        w.writerow([row.label, safe_cell(row.step.name, "text"), row.step.type, row.reached,
                    row.completed,
                    _rate(row.rate(row.completed, row.reached)), row.skipped, row.overdue,
                    row.failed, *events, *rates])
    if panels:
        w.writerow([])
        w.writerow(["a/b test", "version", "status", "outcome", "winner", "metric", "sends",
                    "conversions", "rate", "ci low", "ci high", "p-value"])
        for panel in panels:
            for v in panel.versions:
                w.writerow([safe_cell(panel.display_name, "text"), v.name, panel.test.status,
                            panel.test.outcome or "", panel.test.winner or "", panel.metric,
                            v.sends, v.conversions, _rate(v.rate), _rate(v.ci[0]),
                            _rate(v.ci[1]),
                            "" if panel.p_value is None else f"{panel.p_value:.4f}"])
    return out.getvalue()
