"""A deterministic SIGKILL inside a send chunk: a worker process (tests/engine/killed_worker.py)
delivers 12 emails in chunks of 5 and is killed at the `after_call` hook point of its first chunk:
the provider has taken four of its messages and refused one (a 500), no outcome is written, and
the two chunks after it are claimed but untried. After the lease the stale runs are uncertain;
the provider's events settle the ones it took, the signed-webhook tenant's silent ones are sent
again after the window, and in the end every message reached the provider exactly once (its
request count per step run) and every connection went on once."""

from __future__ import annotations

from sqlalchemy import select

from saas.engine.doctor import examine
from saas.engine.models import StepRun
from saas.engine.send_moves import lease_seconds
from saas.engine.uncertain import resend_all_tenants
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.engine.test_connect_killed import kill_when_ready, killed_worker
from tests.messaging.conftest import configure
from tests.messaging.test_batch_races import CLEAN
from tests.messaging.test_send_races import _event, later, state, tick

EMAILS = 12
CHUNK = 5


def _statuses(app, tenant_id) -> dict[int, str]:
    with app.app_context(), tenant_context(tenant_id):
        return dict(db.session.execute(select(StepRun.id, StepRun.status).where(
            StepRun.step_type == "auto_email")).all())


def test_a_worker_killed_inside_a_send_chunk_loses_nothing_and_sends_nothing_twice(
        app, one_send, fake, sendgrid_tenant, tmp_path):
    tenant_id = sendgrid_tenant.id
    configure(app, tenant_id, sendgrid_webhook_key="verification-key")  # signed events
    connected = [one_send(f"person{i}@example.com") for i in range(EMAILS)]
    fake.fail_next("500")  # one message of the first chunk is refused
    ready = str(tmp_path / "ready")
    kill_when_ready(killed_worker("send", chunk=CHUNK, at=1, ready=ready,
                                  sendgrid_url=fake.url), ready)
    taken = {int(e["step_run_id"]) for e in fake.emails()}
    assert len(taken) == CHUNK - 1 and len(fake.requests) == CHUNK  # then killed
    assert set(_statuses(app, tenant_id).values()) == {"sending"}  # nothing written

    first, *rest = sorted(taken)
    _event(app, tenant_id, first)  # an event during the lease: stored, decides later
    with app.app_context():
        lease = lease_seconds()
    later(app, lease + 1)
    with app.app_context():
        with tenant_context(tenant_id):
            from saas.engine.uncertain import recover_stale

            assert recover_stale(tenant_id) == EMAILS
    statuses = _statuses(app, tenant_id)
    assert statuses[first] == "sent"
    assert {s for i, s in statuses.items() if i != first} == {"unknown"}
    for n, run_id in enumerate(rest):  # the provider's events for what it took
        _event(app, tenant_id, run_id, event_id=f"evt-late-{n}")
    later(app, 3601)
    with app.app_context():
        assert resend_all_tenants() == EMAILS - len(taken)  # refused or never tried
    tick(app)
    assert set(_statuses(app, tenant_id).values()) == {"sent"}
    assert {int(k): v for k, v in fake.per_step_run.items()} == {
        run_id: 1 for _, run_id in connected}
    for enrollment_id, _ in connected:
        assert state(app, tenant_id, enrollment_id) == (
            "active", [("auto_email", "sent"), ("task", "open")])
    with app.app_context():
        assert examine() == CLEAN
