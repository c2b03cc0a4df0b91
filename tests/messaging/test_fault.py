"""The fault test: 2,000 automated emails, 30% of provider calls failing (429, 500, timeouts), the
worker SIGKILLed twice. At the end every email was sent once (the provider's count per step run
is exactly 1) or is reported unknown/failed with a reason; none is lost, none is sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from saas.auth.models import Role
from saas.config import MESSAGING_TUNING
from saas.engine.connect import connect_many
from saas.engine.models import StepRun
from saas.engine.uncertain import resend_all_tenants
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.messaging import builders
from tests.messaging.conftest import configure
from tests.messaging.signing import SendGridSigner, event_body

EMAILS = 2000
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _worker(fake, extra=None) -> subprocess.Popen:
    env = {**os.environ, "FAULT_SENDGRID_URL": fake.url, **(extra or {})}
    from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL

    env.update(TEST_DATABASE_URL=TEST_DATABASE_URL, TEST_REDIS_URL=TEST_REDIS_URL)
    return subprocess.Popen([sys.executable, "-m", "tests.messaging.fault_worker"], cwd=ROOT,
                            env=env)


def _wait_for(fake, accepted: int, process: subprocess.Popen, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while fake.accepted_count < accepted and process.poll() is None:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.05)


def test_two_thousand_emails_with_failures_and_killed_workers(app, client, make_tenant,
                                                             make_user, add_records, fake):
    tenant = make_tenant("faulty")
    seller = make_user(tenant, roles=[Role.SELLER])
    signer = SendGridSigner()
    configure(app, tenant.id, sendgrid_key="SG.fault", from_address="f@faulty.example",
              sendgrid_webhook_key=signer.public_key)
    ids = add_records(tenant, EMAILS, owner_id=seller.id)
    with app.app_context(), tenant_context(tenant.id):
        template = builders.email_template()
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}},
                                 {"type": "task", "name": "Call"}])
        assert connect_many(ids, seq.lineage_id, assign=False)["connected"] == EMAILS
        db.session.commit()

    fake.set_failure_rate(0.3, ("429", "500", "timeout"))
    fake.reset_in = -1  # the rate limit resets at once: the backoff does the waiting
    fake.slow_seconds = 0.5  # past the workers' 0.3 s timeout

    # Two workers killed mid-flight, then one that finishes.
    for accepted in (EMAILS // 5, EMAILS // 2):
        worker = _worker(fake)
        _wait_for(fake, accepted, worker)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    last = _worker(fake)
    assert last.wait(timeout=240) == 0

    # The provider's events arrive for what it accepted: uncertain sends are reconciled.
    accepted = [e for e in fake.accepted if e["step_run_id"]]
    for start in range(0, len(accepted), 200):
        events = [{"email": e["to"][0], "timestamp": int(time.time()), "event": "processed",
                   "sg_event_id": f"proc-{e['message_id']}", "sg_message_id": e["message_id"],
                   "step_run_id": e["step_run_id"], "tenant_id": str(tenant.id)}
                  for e in accepted[start:start + 200]]
        body = event_body(events)
        response = client.post("/faulty/webhooks/sendgrid/events", data=body,
                               headers=signer.headers(body))
        assert response.status_code == 200

    statuses = _check(app, tenant, fake, final=False)
    print(f"\nfault test: after the storm {statuses}, provider requests {fake.request_count}, "
          f"failures injected {sum(1 for r in fake.requests if r.get('failure'))}")
    injected = {r.get("failure") for r in fake.requests}
    assert {"429", "500", "timeout"} <= injected

    # The provider recovers; unknown sends without any event past the window are sent again.
    fake.set_failure_rate(0.0)
    app.config["UNKNOWN_RESEND_AFTER"] = 0
    try:
        with app.app_context():
            resent = resend_all_tenants()
    finally:
        app.config["UNKNOWN_RESEND_AFTER"] = MESSAGING_TUNING["UNKNOWN_RESEND_AFTER"]
    assert resent == statuses.get("unknown", 0)
    assert _worker(fake).wait(timeout=120) == 0
    statuses = _check(app, tenant, fake, final=True)
    print(f"fault test: in the end {statuses}")
    assert statuses == {"sent": EMAILS}


def _check(app, tenant, fake, final: bool) -> dict:
    with app.app_context(), tenant_context(tenant.id):
        runs = db.session.execute(select(StepRun).where(
            StepRun.step_type == "auto_email")).scalars().all()
    assert len(runs) == EMAILS
    counts = fake.per_step_run
    statuses: dict[str, int] = {}
    for run in runs:
        statuses[run.status] = statuses.get(run.status, 0) + 1
        received = counts.get(str(run.id), 0)
        assert received <= 1, f"step run {run.id} was sent {received} times"
        if run.status == "sent":
            assert received == 1, f"step run {run.id} is sent but the provider never got it"
        else:
            assert run.status in ("unknown", "failed"), f"step run {run.id} is {run.status}"
            assert run.error, f"step run {run.id} is {run.status} without a reason"
            if run.status == "unknown":
                assert received == 0  # had the provider got it, its event would have said so
    return statuses
