"""Step runs whose send ended `unknown` (timeout, 5xx, a worker killed mid-call): the provider may
have the message. A provider event for the run proves it did (`mark_reconciled`); the rules for
what happens otherwise live with the engine (`saas.engine.uncertain`)."""

from __future__ import annotations

from saas.engine import clock, hooks
from saas.engine.models import StepRun
from saas.engine.uncertain import decide_from_events, resend_all_tenants  # noqa: F401


def mark_reconciled(step_run: StepRun, kind: str, message_id: str | None = None) -> bool:
    """`unknown` -> `sent` (the provider reported `kind` for it, the event is stored) and the
    enrollment moves on. A run still `sending` is decided when its outcome is written."""
    from saas.engine.sends import lock_enrollments
    from saas.extensions import db

    hooks.at("before_reconcile", run_id=step_run.id, kind=kind)
    lock_enrollments([step_run.enrollment_id])  # the one lock order: enrollment, then its runs
    decided = decide_from_events([step_run.id], clock.now()) == 1
    if decided and message_id:
        db.session.execute(
            StepRun.__table__.update().where(StepRun.__table__.c.id == step_run.id,
                                             StepRun.__table__.c.provider_message_id.is_(None))
            .values(provider_message_id=message_id))
    if decided:
        db.session.expire(step_run)
    return decided


__all__ = ["mark_reconciled", "resend_all_tenants"]
