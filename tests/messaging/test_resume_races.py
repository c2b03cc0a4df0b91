"""Resume as an interleaving: a person resumes a connection at the hook points of a send (after
the claim, before the checks, before and after the provider's call) and while a late provider
event reconciles an uncertain send. After each: the message went out once (the fake provider's
count per step run), the resumed connection goes on exactly once (one live run, the next step
once), none is stranded, and the doctor finds nothing to repair."""

from __future__ import annotations

import pytest

from saas.engine import hooks
from saas.engine.doctor import examine
from tests.messaging.test_batch_races import CLEAN
from tests.messaging.test_send_races import _event, pause, resume, state, tick

GONE_ON = [("auto_email", "sent"), ("task", "open")]


def _resume(app, tenant_id, enrollment_id):
    return lambda: resume(app, tenant_id, enrollment_id)


def _once_at(point, action, when=lambda **_: True):
    """`action` at `point`, the first time `when(**context)` holds."""
    fired = []

    def hook(**context):
        if not fired and when(**context):
            fired.append(True)
            action()
    hooks.install(point, hook)
    return fired


def _sent_once(fake, *run_ids):
    assert {int(k): v for k, v in fake.per_step_run.items()} == {r: 1 for r in run_ids}


@pytest.mark.parametrize(("paused_at", "resumed_at"), [
    ("after_claim", "after_claim"),  # paused and resumed at once while the claim is out
    ("after_claim", "before_check"),  # resumed before delivery reads the connection
    ("before_call", "before_call"),  # checked active, paused and resumed before the call
    ("before_call", "after_call"),  # resumed while the provider has it, before the outcome
    ("after_call", "after_call"),  # paused and resumed before the outcome is written
])
def test_resumed_during_a_send_sends_once_and_goes_on_once(app, one_send, fake,
                                                           sendgrid_tenant, paused_at,
                                                           resumed_at):
    tenant_id = sendgrid_tenant.id
    enrollment_id, run_id = one_send()
    person_pauses = pause(app, tenant_id, enrollment_id)
    person_resumes = _resume(app, tenant_id, enrollment_id)
    if paused_at == resumed_at:
        fired = _once_at(paused_at, lambda: (person_pauses(), person_resumes()))
    else:
        _once_at(paused_at, person_pauses)
        fired = _once_at(resumed_at, person_resumes)
    tick(app)
    tick(app)
    assert fired
    _sent_once(fake, run_id)
    assert state(app, tenant_id, enrollment_id) == ("active", GONE_ON)
    with app.app_context():
        assert examine() == CLEAN


def test_resumed_while_the_next_chunk_goes_out_is_sent_once_after_resume(
        app, one_send, fake, sendgrid_tenant, monkeypatch):
    """Two connections, one message a chunk: the first is paused as its chunk starts (its
    claim goes back, held); it is resumed while the second's chunk is at the provider. It is
    sent once, after the resume, in the same tick's next round; nothing while paused."""
    monkeypatch.setitem(app.config, "SEND_CHUNK", 1)
    tenant_id = sendgrid_tenant.id
    first, first_run = one_send("ann@example.com")
    second, second_run = one_send("bob@example.com")
    _once_at("before_check", pause(app, tenant_id, first),
             when=lambda run_ids: run_ids == [first_run])

    def resume_first():
        assert fake.emails() == []  # the paused one did not go
        assert state(app, tenant_id, first)[0] == "paused"
        resume(app, tenant_id, first)
    fired = _once_at("before_call", resume_first, when=lambda run_ids: run_ids == [second_run])
    tick(app)
    tick(app)
    assert fired
    _sent_once(fake, first_run, second_run)
    assert state(app, tenant_id, first) == ("active", GONE_ON)
    assert state(app, tenant_id, second) == ("active", GONE_ON)
    with app.app_context():
        assert examine() == CLEAN


def test_resumed_while_a_late_event_reconciles_goes_on_once(app, one_send, fake,
                                                            sendgrid_tenant):
    """An uncertain send of a paused connection; its provider event arrives, and the person
    resumes just as it is about to decide the run (before_reconcile). The run is sent, the
    connection goes on once; the provider's replayed event moves nothing again."""
    tenant_id = sendgrid_tenant.id
    enrollment_id, run_id = one_send()
    fake.fail_next("timeout")  # accepted, answered too late
    tick(app)
    assert state(app, tenant_id, enrollment_id) == ("active", [("auto_email", "unknown")])
    pause(app, tenant_id, enrollment_id)()
    fired = _once_at("before_reconcile", _resume(app, tenant_id, enrollment_id))
    _event(app, tenant_id, run_id, kind="processed", event_id="evt-1")
    assert fired
    assert state(app, tenant_id, enrollment_id) == ("active", GONE_ON)
    _event(app, tenant_id, run_id, kind="delivered", event_id="evt-2")
    _event(app, tenant_id, run_id, kind="processed", event_id="evt-1")  # replayed
    tick(app)
    _sent_once(fake, run_id)
    assert state(app, tenant_id, enrollment_id) == ("active", GONE_ON)
    with app.app_context():
        assert examine() == CLEAN
