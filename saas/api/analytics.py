"""A sequence's analytics over the API: the figures of its analytics page (records by status
and exit reason, goal, median days to complete, each step's counts and message events, the
day-by-day timeline, the A/B tests), from the same snapshot and queries as the page."""

from __future__ import annotations

from saas.analytics import queries, snapshots
from saas.api.records import ID, NOT_FOUND, WHEN
from saas.api.sequences import READERS
from saas.api.spec import Param, component, nullable, operation
from saas.engine import abtests
from saas.i18n import _l
from saas.sequences.models import Sequence
from saas.tenancy import get_or_404

COUNT = {"type": "integer"}
RATE = {"type": ["number", "null"]}
_RECORDS = {**{k: COUNT for k in ("connected", "active", "paused", "completed", "exited",
                                   "disconnected")},
            "exited_by_reason": {"type": "object", "additionalProperties": COUNT},
            "goal_reached": {"type": ["integer", "null"],
                             "description": _l("`null`: the sequence has no goal.")},
            "median_days": {"type": ["number", "null"],
                            "description": _l("From connection to completion, of the completed.")}}
_STEP = {"step_id": ID, "label": {"type": "string"}, "name": {"type": "string"},
         "type": {"type": "string"}, "depth": COUNT,
         **{k: COUNT for k in ("reached", "completed", "skipped", "overdue", "failed")},
         "events": {"type": "object", "additionalProperties": COUNT,
                    "description": _l("Sends with at least one such event (`delivered`, "
                                      "`opened`, `clicked`, `replied`, `bounced`, "
                                      "`unsubscribed`).")}}
_AB_VERSION = {"name": {"type": "string"}, "label": {"type": "string"}, "sends": COUNT,
               "conversions": COUNT, "rate": RATE, "ci_low": {"type": "number"},
               "ci_high": {"type": "number"}, "winner": {"type": "boolean"}}
_AB = {"id": ID, "step_id": ID, "sequence_id": ID, "name": {"type": "string"},
       "status": {"type": "string"}, "outcome": {"type": ["string", "null"]},
       "winner": {"type": ["string", "null"]}, "metric": {"type": "string"},
       "p_value": RATE, "deadline": nullable(WHEN),
       "versions": {"type": "array", "items": {"type": "object", "required": list(_AB_VERSION),
                                               "properties": _AB_VERSION}}}
_FIELDS = {
    "sequence_id": ID, "version": COUNT,
    "period": {"type": "string", "enum": list(queries.PERIODS)},
    "computed_at": WHEN,
    "records": {"type": "object", "required": list(_RECORDS), "properties": _RECORDS,
                "description": _l("Connections of every version made in the period, by status "
                                  "now.")},
    "steps": {"type": "array", "items": {"type": "object", "required": list(_STEP),
                                         "properties": _STEP},
              "description": _l("The chosen version's steps, reached in the period.")},
    "timeline": {"type": "array", "items": {
        "type": "object", "required": ["day", "sent", "replies"],
        "properties": {"day": {"type": "string", "format": "date"}, "sent": COUNT,
                       "replies": COUNT}}},
    "ab_tests": {"type": "array", "items": {"type": "object", "required": list(_AB),
                                            "properties": _AB}}}
ANALYTICS = component("SequenceAnalytics", {
    "type": "object", "required": list(_FIELDS), "properties": _FIELDS})


def _ab(panel: queries.AbPanel) -> dict:
    return {"id": panel.test.id, "step_id": panel.step.id, "sequence_id": panel.sequence.id,
            "name": panel.display_name, "status": panel.test.status,
            "outcome": panel.test.outcome, "winner": panel.test.winner,
            "metric": panel.metric, "p_value": panel.p_value, "deadline": panel.deadline,
            "versions": [{"name": v.name, "label": v.label, "sends": v.sends,
                          "conversions": v.conversions, "rate": v.rate,
                          "ci_low": float(v.ci[0]), "ci_high": float(v.ci[1]),
                          "winner": v.winner} for v in panel.versions]}


@operation("GET", "/sequences/{sequence_id}/analytics", summary=_l("A sequence's analytics"),
           tag="Analytics", allow=READERS, sequences=True, query=(
               Param("period", {"type": "string", "enum": list(queries.PERIODS),
                                "default": "all"}, _l("Days back (whole UTC days), or `all`.")),
               Param("version", {"type": "integer", "minimum": 1, "maximum": 100_000},
                     _l("The version whose steps are counted (default: the active one).")),
               Param("fresh", {"type": "boolean", "default": False},
                     _l("Compute now instead of using figures up to 10 minutes old."))),
           description=_l("The figures of the sequence's analytics page (definitions there)."),
           responses={200: (_l("The figures."), ANALYTICS), 404: NOT_FOUND[1]})
def sequence_analytics(sequence_id: int, query: dict):
    sequence = get_or_404(Sequence, sequence_id)
    now = abtests.now()
    period = queries.Period.parse(query["period"], now)
    versions = queries.versions(sequence)
    chosen = next((v for v in versions if v.version == query["version"]), None) \
        or snapshots.default_version(versions)
    summary, activity, computed_at = snapshots.figures(sequence, chosen, period, now,
                                                       fresh=bool(query["fresh"]))
    return {
        "sequence_id": sequence.id, "version": chosen.version, "period": period.key,
        "computed_at": computed_at,
        "records": {"connected": summary.connected, "active": summary.active,
                    "paused": summary.paused, "completed": summary.completed,
                    "exited": summary.exited, "disconnected": summary.disconnected,
                    "exited_by_reason": dict(summary.exited_by_reason),
                    "goal_reached": summary.goal_reached,
                    "median_days": summary.median_days},
        "steps": [{"step_id": s.step.id, "label": s.label, "name": s.step.name,
                   "type": s.step.type, "depth": s.depth, "reached": s.reached,
                   "completed": s.completed, "skipped": s.skipped, "overdue": s.overdue,
                   "failed": s.failed, "events": dict(s.events)} for s in activity.steps],
        "timeline": [{"day": day, "sent": sent, "replies": replies}
                     for day, sent, replies in activity.days],
        "ab_tests": [_ab(p) for p in queries.ab_panels(sequence, now)],
    }
