"""Event ordering: a send the provider accepted whose outcome we did not get (the call timed out
after acceptance, or the worker was killed after the call), with the provider's event arriving
before the outcome is written, during the lease, after the run became `unknown`, late (past the
resend window, before the resend task), or never; with and without signed event webhooks.

Each run ends `sent` (and the connection moves on) wherever an event existed, with the provider
having received the message once; without an event it stays `unknown` for a manager when events
are not signed (never sent twice), and is sent again only when signed events exist and none
came."""

from __future__ import annotations

import pytest

from saas.engine import hooks
from saas.engine.uncertain import recover_stale, resend_all_tenants
from tests.messaging.conftest import configure
from tests.messaging.test_send_races import (
    WorkerDied,
    _event,
    elsewhere,
    later,
    state,
    tick,
)

WHEN = ["before_outcome", "during_lease", "after_unknown", "late", "never"]


@pytest.mark.parametrize("webhook", [True, False], ids=["signed-events", "no-events"])
@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("failure", ["timeout", "killed"])
def test_an_accepted_send_is_settled_by_its_event_whenever_it_comes(
        app, one_send, fake, sendgrid_tenant, failure, when, webhook):
    tenant_id = sendgrid_tenant.id
    if webhook:
        configure(app, tenant_id, sendgrid_webhook_key="verification-key")
    enrollment_id, run_id = one_send()

    def event():
        _event(app, tenant_id, run_id)

    if failure == "timeout":
        fake.fail_next("timeout")  # accepted, answered too late: the outcome is `unknown`
        if when == "before_outcome":
            hooks.install("after_call", lambda **_: event())
        tick(app)
        hooks.clear()
        if when == "during_lease":
            event()
    else:
        def killed(**_):
            if when == "before_outcome":
                event()
            raise WorkerDied
        hooks.install("after_call", killed)
        tick(app)  # the worker "dies" after the call: the run stays `sending`
        hooks.clear()
        assert state(app, tenant_id, enrollment_id)[1] == [("auto_email", "sending")]
        if when == "during_lease":
            event()
        later(app, 120)  # the lease runs out
        elsewhere(app, tenant_id, lambda: recover_stale(tenant_id))
    if when == "after_unknown":
        assert state(app, tenant_id, enrollment_id)[1] == [("auto_email", "unknown")]
        event()
    later(app, 7200)
    if when == "late":
        event()
    with app.app_context():
        resent = resend_all_tenants()
    tick(app)

    status, runs = state(app, tenant_id, enrollment_id)
    assert status == "active"
    if when != "never":
        assert (resent, fake.per_step_run[str(run_id)]) == (0, 1)
        assert runs == [("auto_email", "sent"), ("task", "open")]
    elif webhook:  # signed events exist, none came: the provider never had it, as far as we
        assert resent == 1  # can know, so it is sent again (the fake did take it: twice)
        assert fake.per_step_run[str(run_id)] == 2
        assert runs == [("auto_email", "sent"), ("task", "open")]
    else:  # no event source: never sent twice; a manager decides
        assert (resent, fake.per_step_run[str(run_id)]) == (0, 1)
        assert runs == [("auto_email", "unknown")]


@pytest.mark.parametrize("action", ["pause", "disconnect"])
def test_a_person_acts_just_as_the_event_reconciles(app, one_send, fake, sendgrid_tenant,
                                                    action):
    """Around reconciliation: the enrollment is paused (or disconnected) between the event
    being stored and the run being decided. Paused: the send is settled and the connection
    holds its next step; disconnected: settled, nothing more."""
    from tests.messaging.test_send_races import at, disconnect, pause

    tenant_id = sendgrid_tenant.id
    enrollment_id, run_id = one_send()
    fake.fail_next("timeout")
    tick(app)
    act = pause if action == "pause" else disconnect
    fired = at("before_reconcile", act(app, tenant_id, enrollment_id))
    _event(app, tenant_id, run_id)
    assert fired
    status, runs = state(app, tenant_id, enrollment_id)
    if action == "pause":
        assert (status, runs) == ("paused", [("auto_email", "sent"), ("task", "open")])
    else:
        assert (status, runs) == ("disconnected", [("auto_email", "sent")])
    assert fake.per_step_run[str(run_id)] == 1
