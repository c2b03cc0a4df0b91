"""Random valid sequences for the engine's property tests, and the invariant checker.

Used by tests/engine/test_invariants.py (the engine keeps its invariants) and
tests/engine/test_paths_agree.py (the single-record and the batch paths end in the same state).
`branch(rng, template_id, [], 0)` is a valid step tree as nested specs for
tests.engine.factories.build_sequence. With `rich=True` it also has waits in days, email
conditions with limits in days, field conditions and field updates that succeed, fail or end the
enrollment (a lead disqualified), and LinkedIn activities among the tasks; without it, the same
seed gives the same tree as always.
"""

from __future__ import annotations

import random

from sqlalchemy import func, select

from saas.engine.graph import load_graph
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.messaging.models import OutboxMessage

LIVE = ("open", "waiting", "pending", "sending")
ENDED = ("completed", "exited", "disconnected")
EMAIL_TYPES = ("email", "auto_email", "ab_test")
DECISIONS = ("email_condition", "call_condition", "field_condition")
LINKEDIN = ("linkedin_research", "linkedin_introduction", "linkedin_connect", "linkedin_inmail")
CALL_OUTCOMES = ("connected", "no_answer", "left_voicemail")
# (field, value) of a field update: set, set, a value that is no status (fails), no such field
# (fails), and a disqualified lead (the update itself ends the enrollment).
UPDATES = [("status", "contacted"), ("status", "qualified"), ("country", "FR"),
           ("status", "nonsense"), ("nope", "x"), ("status", "disqualified")]
FIELD_RULES = [{"field": "status", "operator": "equals", "value": "contacted"},
               {"field": "country", "operator": "equals", "value": "FR"},
               {"field": "status", "operator": "equals", "value": "new"}]


def plain(rng: random.Random, template_id: int, *, rich: bool = False) -> dict:
    """One step that is not a condition."""
    kind = rng.choice(["wait", "task", "call", "email", "auto_email", "update_field", "ab_test"])
    if kind == "task" and rich:  # the manual LinkedIn activities go where a task goes
        kind = rng.choice(["task", *LINKEDIN])
    if kind == "ab_test":
        return {"type": "ab_test", "config": {
            "display_name": "Subject", "split_a": 50, "metric": "opens", "ends": "auto",
            "end_at": None, "default_version": "A",
            "versions": {"A": {"type": rng.choice(["email", "auto_email"]), "name": "Short",
                               "template_id": template_id},
                         "B": {"type": "auto_email", "name": "Long",
                               "template_id": template_id}}}}
    if kind == "wait":
        if rich:
            days = rng.choice([0, 0, 1, 2])
            return {"type": "wait", "config": {"days": days,
                                               "hours": rng.randint(0 if days else 1, 3)}}
        return {"type": "wait", "config": {"days": 0, "hours": rng.randint(1, 3)}}
    if kind == "auto_email":
        return {"type": "auto_email", "config": {"template_id": template_id}}
    if kind == "email":
        return {"type": "email", "config": {"template_id": None}}
    if kind == "update_field":
        field, value = (rng.choices(UPDATES, weights=[4, 3, 2, 1, 1, 1])[0] if rich
                        else ("status", "contacted"))
        return {"type": "update_field", "config": {"field": field, "value": value}}
    return {"type": kind}


def branch(rng: random.Random, template_id: int, before: list[str], depth: int, *,
           rich: bool = False) -> list[dict]:
    """A valid branch: plain steps (never ending on a wait), then perhaps a condition whose
    kind has its email or call step on the path before it (a field condition needs none)."""
    steps = [plain(rng, template_id, rich=rich) for _ in range(rng.randint(1, 3))]
    if steps[-1]["type"] == "wait":
        steps.append({"type": "task"})
    path = before + [s["type"] for s in steps]
    choices = [kind for kind, needs in (("email_condition", EMAIL_TYPES), ("call_condition",
                                                                           ("call",)))
               if any(t in needs for t in path)]
    if rich:
        choices.append("field_condition")
    if choices and depth < 2 and rng.random() < 0.7:
        kind = rng.choice(choices)
        if kind == "email_condition":
            config = {"events": [rng.choice(["opened", "clicked"])], "match": "any",
                      "limit_days": rng.choice([0, 0, 1]) if rich else 0,
                      "limit_hours": rng.randint(1, 3), "move_on_event": rng.random() < 0.5}
        elif kind == "call_condition":
            config = {"outcomes": (rng.sample(CALL_OUTCOMES, rng.randint(1, 2)) if rich
                                   else ["connected"])}
        else:
            config = {"rules": {"op": "and", "rules": [rng.choice(FIELD_RULES)]}}
        condition = {"type": kind, "config": config}
        for side in ("yes", "no"):
            condition[side] = (branch(rng, template_id, path, depth + 1, rich=rich)
                               if rng.random() < 0.8 else [])
        steps.append(condition)
    return steps


def check(sequence_id: int, *, finished: bool = False, outbox: bool = True) -> dict[str, int]:
    """Assert the engine's invariants for one sequence version (in the tenant in context);
    returns the enrollments' count per status. `outbox`: automated sends went through the
    outbox (one message per sent run)."""
    graph = load_graph(sequence_id)
    enrollments = db.session.execute(select(Enrollment).where(
        Enrollment.sequence_id == sequence_id).execution_options(populate_existing=True)
    ).scalars().all()
    runs: dict[int, list[StepRun]] = {}
    for run in db.session.execute(select(StepRun).where(StepRun.sequence_id == sequence_id)
                                  .order_by(StepRun.id)).scalars():
        runs.setdefault(run.enrollment_id, []).append(run)
    for e in enrollments:
        mine = runs.get(e.id, [])
        live = [r for r in mine if r.status in LIVE]
        where = f"enrollment {e.id} ({e.status}): {[(r.step_type, r.status) for r in mine]}"
        if e.status in ("active", "paused"):
            assert len(live) == 1 and live[0].step_id == e.current_step_id, where
        else:
            assert e.status in ENDED and not live, where
        assert mine and mine[0].step_id == graph.first().id, where
        for before, after in zip(mine, mine[1:], strict=False):
            info = graph.steps[before.step_id]
            expected = (graph.first(info.id, before.outcome) if info.type in DECISIONS
                        else graph.after(info.id))
            assert expected is not None and after.step_id == expected.id, where
        if finished:
            last = graph.steps[mine[-1].step_id]
            assert e.status in ENDED, where
            if e.status == "completed":
                end = (graph.first(last.id, mine[-1].outcome) if last.type in DECISIONS
                       else graph.after(last.id))
                assert end is None, where
    if outbox:
        sends = db.session.execute(select(OutboxMessage.step_run_id, func.count())
                                   .group_by(OutboxMessage.step_run_id)).all()
        assert all(count == 1 for _, count in sends)
        sent = db.session.execute(select(func.count()).select_from(StepRun).where(
            StepRun.sequence_id == sequence_id, StepRun.step_type == "auto_email",
            StepRun.status == "sent")).scalar_one()
        assert sent == len(sends)
    statuses: dict[str, int] = {}
    for e in enrollments:
        statuses[e.status] = statuses.get(e.status, 0) + 1
    return statuses
