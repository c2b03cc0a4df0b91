"""Step runs whose send ended `unknown` (timeout, 5xx, a worker killed mid-call): the provider may
have the message. A provider event for the run proves it did (`mark_reconciled`); a run with no
event within `UNKNOWN_RESEND_AFTER` seconds never reached it and is sent again
(`resend_silent_unknowns`, a tick task)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, func, select, update

from saas.engine import clock
from saas.engine.advance import advance
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.messaging.models import MessageEvent

DEFAULT_WINDOW = 3600


def window_seconds() -> float:
    return float(current_app.config.get("UNKNOWN_RESEND_AFTER", DEFAULT_WINDOW))


def mark_reconciled(step_run: StepRun, kind: str, message_id: str | None = None) -> bool:
    """`unknown` -> `sent` (the provider reported `kind` for it) and the enrollment moves on."""
    now = clock.now()
    changed = db.session.execute(
        update(StepRun).where(StepRun.id == step_run.id, StepRun.status == "unknown")
        .values(status="sent", completed_at=now,
                provider_message_id=message_id or StepRun.provider_message_id,
                error=f"Reconciled: the provider reported “{kind}” after an uncertain send.")
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        return False
    db.session.refresh(step_run)
    enrollment = db.session.execute(
        select(Enrollment).where(Enrollment.id == step_run.enrollment_id)).scalar_one_or_none()
    if enrollment is not None:
        advance(enrollment, after_step_run=step_run, now=now)
    return True


def resend_silent_unknowns(tenant_id: int, limit: int = 1000) -> int:
    """Unknown runs with no provider event for the window: pending again (sent once more)."""
    now = clock.now()
    cutoff = now - timedelta(seconds=window_seconds())
    has_event = exists().where(MessageEvent.tenant_id == tenant_id,
                               MessageEvent.step_run_id == StepRun.id)
    ids = list(db.session.execute(
        select(StepRun.id).join(Enrollment, Enrollment.id == StepRun.enrollment_id)
        .where(StepRun.tenant_id == tenant_id, StepRun.status == "unknown",
               StepRun.completed_at.is_not(None), StepRun.completed_at < cutoff, ~has_event,
               Enrollment.status == "active")  # an ended enrollment sends nothing more
        .limit(limit).with_for_update(of=StepRun, skip_locked=True)
        .execution_options(all_tenants=True)).scalars())
    if not ids:
        db.session.rollback()
        return 0
    db.session.execute(
        update(StepRun).where(StepRun.id.in_(ids), StepRun.status == "unknown")
        .values(status="pending", due_at=now, completed_at=None,
                error=func.concat(func.coalesce(StepRun.error, ""),
                                  " — no provider event within the window: sending again."))
        .execution_options(synchronize_session=False, all_tenants=True))
    db.session.commit()
    return len(ids)


def resend_all_tenants() -> int:
    """The tick task: every tenant with unknown sends past the window."""
    from saas.tenancy import tenant_context

    cutoff = clock.now() - timedelta(seconds=window_seconds())
    tenant_ids = list(db.session.execute(
        select(StepRun.tenant_id).where(StepRun.status == "unknown",
                                        StepRun.completed_at < cutoff).distinct()
        .execution_options(all_tenants=True)).scalars())
    db.session.rollback()
    total = 0
    for tenant_id in tenant_ids:
        with tenant_context(tenant_id):
            total += resend_silent_unknowns(tenant_id)
    return total
