"""Races around a send, made deterministic with the engine's hook points (saas/engine/hooks.py):
a person pauses, resumes or disconnects, a reply ends the sequence, the template goes away, a
provider event comes before the outcome, the worker dies after the call. After each: one live run
per running enrollment, none for an ended one, nothing sent to a non-active enrollment, and the
fake provider's count says how many messages really went out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from saas.config import MESSAGING_TUNING
from saas.engine import clock, hooks, services
from saas.engine.lifecycle import end_enrollments
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.engine.uncertain import recover_stale, resend_all_tenants
from saas.errors import ServiceError
from saas.extensions import db
from saas.messaging import events
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from tests.messaging.conftest import configure

LIVE = ("open", "waiting", "pending", "sending", "unknown")


def elsewhere(app, tenant_id, work):
    """Run `work` in its own app context and session (another request, another worker)."""
    with app.app_context(), tenant_context(tenant_id):
        try:
            return work()
        finally:
            db.session.remove()


def enrollment_of(enrollment_id):
    return db.session.execute(select(Enrollment).where(Enrollment.id == enrollment_id)
                              ).scalar_one()


def state(app, tenant_id, enrollment_id):
    """(enrollment status, [(step type, run status)]) after checking the invariants."""
    def read():
        enrollment = enrollment_of(enrollment_id)
        runs = db.session.execute(select(StepRun).where(
            StepRun.enrollment_id == enrollment_id).order_by(StepRun.id)).scalars().all()
        live = [r for r in runs if r.status in LIVE]
        if enrollment.status in ("active", "paused"):
            assert len(live) == 1, [(r.step_type, r.status) for r in runs]
            assert live[0].step_id == enrollment.current_step_id
        else:
            assert not [r for r in live if r.status in ("open", "waiting", "pending",
                                                         "sending")]
        return enrollment.status, [(r.step_type, r.status) for r in runs]
    return elsewhere(app, tenant_id, read)


def tick(app):
    with app.app_context():
        return run_tick(budget_seconds=30)


def later(app, seconds):
    with app.app_context():
        clock.move_forward(timedelta(seconds=seconds))


def at(point, action):
    """Install `action` at a hook point, once."""
    fired = []

    def hook(**_):
        if not fired:
            fired.append(True)
            action()
    hooks.install(point, hook)
    return fired


def pause(app, tenant_id, enrollment_id):
    return lambda: elsewhere(app, tenant_id,
                             lambda: services.pause(enrollment_of(enrollment_id)))


def resume(app, tenant_id, enrollment_id):
    elsewhere(app, tenant_id, lambda: services.resume(enrollment_of(enrollment_id)))


def disconnect(app, tenant_id, enrollment_id):
    return lambda: elsewhere(app, tenant_id,
                             lambda: services.disconnect(enrollment_of(enrollment_id)))


def replied(app, tenant_id, enrollment_id):
    def end():
        end_enrollments([enrollment_id], "exited", "replied")
        db.session.commit()
    return lambda: elsewhere(app, tenant_id, end)


def test_paused_between_claim_and_delivery_sends_nothing_then_goes_after_resume(
        app, one_send, fake, sendgrid_tenant):
    enrollment_id, _ = one_send()
    fired = at("before_check", pause(app, sendgrid_tenant.id, enrollment_id))
    tick(app)
    assert fired and fake.emails() == []
    assert state(app, sendgrid_tenant.id, enrollment_id) == ("paused", [("auto_email",
                                                                         "pending")])
    tick(app)  # paused: nothing
    assert fake.emails() == []
    resume(app, sendgrid_tenant.id, enrollment_id)
    tick(app)
    assert len(fake.emails()) == 1
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "active", [("auto_email", "sent"), ("task", "open")])


@pytest.mark.parametrize("ending", [disconnect, replied])
def test_ended_between_claim_and_delivery_sends_nothing(app, one_send, fake, sendgrid_tenant,
                                                        ending):
    enrollment_id, _ = one_send()
    at("before_check", ending(app, sendgrid_tenant.id, enrollment_id))
    tick(app)
    assert fake.emails() == []
    status, runs = state(app, sendgrid_tenant.id, enrollment_id)
    assert status in ("disconnected", "exited") and runs == [("auto_email", "cancelled")]


def test_paused_during_the_call_moves_on_and_keeps_one_live_run(app, one_send, fake,
                                                                 sendgrid_tenant):
    enrollment_id, _ = one_send()
    at("before_call", pause(app, sendgrid_tenant.id, enrollment_id))
    tick(app)
    assert len(fake.emails()) == 1  # checked before the pause: it went
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "paused", [("auto_email", "sent"), ("task", "open")])
    resume(app, sendgrid_tenant.id, enrollment_id)
    assert state(app, sendgrid_tenant.id, enrollment_id)[0] == "active"


def test_disconnected_during_the_call_ends_with_no_live_run(app, one_send, fake,
                                                            sendgrid_tenant):
    enrollment_id, _ = one_send()
    at("after_call", disconnect(app, sendgrid_tenant.id, enrollment_id))
    tick(app)
    assert len(fake.emails()) == 1
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "disconnected", [("auto_email", "sent")])


def test_template_deleted_before_delivery_fails_and_moves_on(app, one_send, fake,
                                                             sendgrid_tenant):
    enrollment_id, _ = one_send()

    def delete_template():
        def work():
            db.session.execute(MessageTemplate.__table__.delete())
            db.session.commit()
        elsewhere(app, sendgrid_tenant.id, work)
    at("before_check", delete_template)
    tick(app)
    assert fake.emails() == []
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "active", [("auto_email", "failed"), ("task", "open")])


def test_a_failed_email_takes_no_at_the_condition_that_follows(app, one_send, fake,
                                                                sendgrid_tenant):
    enrollment_id, _ = one_send("", specs=[
        {"type": "auto_email", "name": "Hello", "config": {"template_id": None}},
        {"type": "email_condition", "config": {"event": "opened", "limit_days": 2},
         "yes": [{"type": "task", "name": "Opened"}],
         "no": [{"type": "call", "name": "Call instead"}]}])
    tick(app)
    status, runs = state(app, sendgrid_tenant.id, enrollment_id)
    assert status == "active"
    assert runs == [("auto_email", "failed"), ("email_condition", "completed"),
                    ("call", "open")]


def test_gave_up_after_retries_moves_on(app, one_send, fake, sendgrid_tenant):
    app.config["SEND_MAX_ATTEMPTS"] = 2
    try:
        enrollment_id, _ = one_send()
        fake.fail_next("429", times=2)
        tick(app)
        later(app, 7200)
        tick(app)
    finally:
        app.config["SEND_MAX_ATTEMPTS"] = MESSAGING_TUNING["SEND_MAX_ATTEMPTS"]
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "active", [("auto_email", "failed"), ("task", "open")])


def _event(app, tenant_id, run_id, kind="processed", event_id="evt-1"):
    def work():
        events.record(kind=kind, provider="sendgrid", provider_event_id=event_id,
                      step_run_id=run_id)
        db.session.commit()
    elsewhere(app, tenant_id, work)


def test_event_before_the_outcome_decides_a_timed_out_send(app, one_send, fake,
                                                           sendgrid_tenant):
    enrollment_id, run_id = one_send()
    fake.fail_next("timeout")  # accepted, answered too late
    at("after_call", lambda: _event(app, sendgrid_tenant.id, run_id))
    tick(app)
    assert len(fake.emails()) == 1
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "active", [("auto_email", "sent"), ("task", "open")])


class WorkerDied(Exception):
    pass


def _die():
    raise WorkerDied


@pytest.mark.parametrize("event_when", ["during_lease", "after_unknown", "never"])
def test_worker_killed_after_the_call(app, one_send, fake, sendgrid_tenant, event_when):
    enrollment_id, run_id = one_send()
    hooks.install("after_call", lambda **_: _die())
    tick(app)  # the tenant's failure is isolated: the tick goes on
    hooks.clear()
    assert len(fake.emails()) == 1
    assert state(app, sendgrid_tenant.id, enrollment_id)[1] == [("auto_email", "sending")]
    if event_when == "during_lease":
        _event(app, sendgrid_tenant.id, run_id)  # stored; the run is still ours
    later(app, 120)  # the lease runs out
    elsewhere(app, sendgrid_tenant.id, lambda: recover_stale(sendgrid_tenant.id))
    if event_when == "after_unknown":
        assert state(app, sendgrid_tenant.id, enrollment_id)[1] == [("auto_email", "unknown")]
        _event(app, sendgrid_tenant.id, run_id)
    later(app, 7200)
    with app.app_context():
        resend_all_tenants()
    tick(app)
    status, runs = state(app, sendgrid_tenant.id, enrollment_id)
    assert len(fake.emails()) == 1  # never twice
    if event_when == "never":  # no event source: a manager decides
        assert runs == [("auto_email", "unknown")]
    else:
        assert runs == [("auto_email", "sent"), ("task", "open")]


def test_silent_unknown_is_resent_once_with_signed_events(app, one_send, fake,
                                                          sendgrid_tenant):
    configure(app, sendgrid_tenant.id, sendgrid_webhook_key="verification-key")
    enrollment_id, run_id = one_send()
    fake.fail_next("500")  # not accepted: the provider has nothing
    tick(app)
    assert state(app, sendgrid_tenant.id, enrollment_id)[1] == [("auto_email", "unknown")]
    later(app, 3601)
    with app.app_context():
        assert resend_all_tenants() == 1
    tick(app)
    assert len(fake.emails()) == 1
    assert state(app, sendgrid_tenant.id, enrollment_id)[1] == [("auto_email", "sent"),
                                                                 ("task", "open")]


def test_late_event_for_a_paused_unknown_send_moves_on_after_resume(app, one_send, fake,
                                                                    sendgrid_tenant):
    enrollment_id, run_id = one_send()
    fake.fail_next("timeout")
    tick(app)
    assert state(app, sendgrid_tenant.id, enrollment_id)[1] == [("auto_email", "unknown")]
    pause(app, sendgrid_tenant.id, enrollment_id)()
    _event(app, sendgrid_tenant.id, run_id, kind="delivered")
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "paused", [("auto_email", "sent"), ("task", "open")])
    resume(app, sendgrid_tenant.id, enrollment_id)
    assert state(app, sendgrid_tenant.id, enrollment_id)[0] == "active"


def test_no_resurrection_resume_after_disconnect_says_it_ended(app, one_send, fake,
                                                                sendgrid_tenant):
    enrollment_id, _ = one_send()
    pause(app, sendgrid_tenant.id, enrollment_id)()
    disconnect(app, sendgrid_tenant.id, enrollment_id)()
    with pytest.raises(ServiceError, match="ended"):
        resume(app, sendgrid_tenant.id, enrollment_id)
    with pytest.raises(ServiceError, match="ended"):
        pause(app, sendgrid_tenant.id, enrollment_id)()
    status, runs = state(app, sendgrid_tenant.id, enrollment_id)
    assert status == "disconnected" and runs == [("auto_email", "cancelled")]


def test_a_stale_writer_cannot_overwrite_a_newer_claim(app, one_send, fake, sendgrid_tenant):
    """The first worker's lease ran out and another claimed the run again: the first one's
    late outcome writes nothing (the claim token is no longer its own)."""
    from saas.engine.sends import _cas

    enrollment_id, run_id = one_send()

    def work():
        db.session.execute(StepRun.__table__.update().where(StepRun.__table__.c.id == run_id)
                           .values(status="sending", claim_token="new-claim"))
        db.session.commit()
        written = _cas(run_id, "old-claim", status="failed")
        db.session.commit()
        return written
    assert elsewhere(app, sendgrid_tenant.id, work) is False
    assert state(app, sendgrid_tenant.id, enrollment_id)[1] == [("auto_email", "sending")]


def test_seller_removed_before_delivery_still_settles_the_send(app, one_send, fake,
                                                               sendgrid_tenant):
    from saas.auth.models import User

    enrollment_id, _ = one_send()

    def remove_seller():
        def work():
            db.session.execute(User.__table__.delete().where(
                User.__table__.c.tenant_id == sendgrid_tenant.id))
            db.session.commit()
        elsewhere(app, sendgrid_tenant.id, work)
    at("before_check", remove_seller)
    tick(app)
    assert len(fake.emails()) == 1  # signed by the tenant instead
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "active", [("auto_email", "sent"), ("task", "open")])


def test_seller_completing_the_step_while_the_tick_runs(app, one_send, fake, sendgrid_tenant):
    """The seller completes the task that follows the email at the moment the outcome of the
    email is about to be written: the task does not exist yet, so nothing is completed twice,
    and the enrollment ends with one live run."""
    from saas.engine.activities import complete_activity

    enrollment_id, _ = one_send()

    def complete_open():
        def work():
            open_run = db.session.execute(select(StepRun.id).where(
                StepRun.enrollment_id == enrollment_id, StepRun.status == "open")).scalar()
            done = complete_activity(open_run, None) if open_run else False
            db.session.commit()
            return done
        assert elsewhere(app, sendgrid_tenant.id, work) is False
    at("after_call", complete_open)
    tick(app)
    assert state(app, sendgrid_tenant.id, enrollment_id) == (
        "active", [("auto_email", "sent"), ("task", "open")])
