"""Soft bounces retry (issue 20): a `blocked` email is sent again an hour later, then two; the
third soft bounce in a row makes the address undeliverable. Through the real SendGrid event
webhook (signed) and the local provider server: once per bounce, never after the connection
ended, held while it or its sender is paused, one send for two workers, a timeout never sent a
third time, a dead worker's claim settled."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from saas.engine import clock, resends
from saas.engine.models import Enrollment, MessageResend, StepRun
from saas.engine.senders import Sender
from saas.engine.services import pause, resume
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging.models import Suppression
from saas.tenancy import tenant_context
from tests.messaging import builders
from tests.messaging.conftest import configure
from tests.messaging.signing import SendGridSigner, event_body

HOUR = 3600


@pytest.fixture
def signer():
    return SendGridSigner()


@pytest.fixture
def mail(app, sendgrid_tenant, signer):
    """connect(*emails) -> their email step run ids, each sent once through the tick."""
    configure(app, sendgrid_tenant.id, sendgrid_webhook_key=signer.public_key)

    def connect(*emails):
        with app.app_context(), tenant_context(sendgrid_tenant.id):
            template = builders.email_template()
            seq = builders.sequence([
                {"type": "auto_email", "config": {"template_id": template.id}},
                {"type": "task", "name": "Call them"}])
            runs = builders.connect([builders.lead(e) for e in emails], seq)
            db.session.commit()
            ids = [r.id for r in runs]
        with app.app_context():
            run_tick(budget_seconds=30)
        return ids
    return connect


@pytest.fixture
def bounced(app, client, mail, signer, sendgrid_tenant):
    """bounced(email) -> the step run id of that lead's email, sent once and blocked once."""

    def send_and_block(email):
        [run_id] = mail(email)
        message_id = _run(app, sendgrid_tenant.id, run_id).provider_message_id
        _blocked(client, signer, sendgrid_tenant, run_id, message_id, "b1")
        return run_id
    return send_and_block


def _blocked(client, signer, tenant, run_id, message_id, event_id):
    """SendGrid's event webhook: a bounce of type `blocked` for this message."""
    from saas.records.models import Record

    with client.application.app_context(), tenant_context(tenant.id):
        email = db.session.execute(select(Record.email).join(
            StepRun, StepRun.record_id == Record.id).where(StepRun.id == run_id)).scalar_one()
    event = {"email": email, "timestamp": int(time.time()), "event": "bounce",
             "type": "blocked", "reason": "452 4.2.2 Mailbox full", "sg_event_id": event_id,
             "sg_message_id": f"{message_id}.filter0001", "step_run_id": str(run_id),
             "tenant_id": str(tenant.id)}
    body = event_body([event])
    response = client.post(f"/{tenant.slug}/webhooks/sendgrid/events", data=body,
                           headers=signer.headers(body))
    assert response.status_code == 200, response.get_data(as_text=True)


def _resends(app, tenant_id, run_id=None):
    with app.app_context(), tenant_context(tenant_id):
        stmt = select(MessageResend).order_by(MessageResend.id)
        if run_id is not None:
            stmt = stmt.where(MessageResend.step_run_id == run_id)
        rows = db.session.execute(stmt).scalars().all()
        db.session.expunge_all()
        return rows


def _run(app, tenant_id, run_id):
    with app.app_context(), tenant_context(tenant_id):
        run = db.session.get(StepRun, run_id)
        db.session.expunge_all()
        return run


def _later(app, seconds):
    with app.app_context():
        clock.move_forward(timedelta(seconds=seconds))


def _resend_due(app):
    with app.app_context():
        return resends.resend_due()


def _sent_to(fake, run_id):
    return [e for e in fake.emails() if e["step_run_id"] == str(run_id)]


def test_a_blocked_email_goes_again_an_hour_later_then_two_then_the_address_is_undeliverable(
        app, client, fake, mail, signer, sendgrid_tenant):
    [run_id] = mail("full@example.com")
    tid = sendgrid_tenant.id
    first = _run(app, tid, run_id)
    assert first.status == "sent" and len(_sent_to(fake, run_id)) == 1
    _blocked(client, signer, sendgrid_tenant, run_id, first.provider_message_id, "b1")
    _blocked(client, signer, sendgrid_tenant, run_id, first.provider_message_id, "b1")  # retried
    [planned] = _resends(app, tid)
    with app.app_context():
        now = clock.now()
    assert (planned.attempt, planned.status) == (1, "pending")
    assert planned.due_at >= now + timedelta(seconds=HOUR - 5)
    assert planned.reason == "452 4.2.2 Mailbox full"
    assert _resend_due(app) == 0 and len(_sent_to(fake, run_id)) == 1  # not due yet

    _later(app, HOUR + 1)
    assert _resend_due(app) == 1
    again = _sent_to(fake, run_id)
    assert len(again) == 2 and again[1]["to"] == ["full@example.com"]
    assert again[1]["body"]["subject"] == again[0]["body"]["subject"]
    [done] = _resends(app, tid)
    assert done.status == "sent" and done.provider_message_id == again[1]["message_id"]
    assert _run(app, tid, run_id).status == "sent"  # the step's history is unchanged
    assert _resend_due(app) == 0 and len(_sent_to(fake, run_id)) == 2  # once

    # The resent message bounces too: the second attempt, two hours later.
    _blocked(client, signer, sendgrid_tenant, run_id, done.provider_message_id, "b2")
    second = _resends(app, tid)[-1]
    assert (second.attempt, second.status) == (2, "pending")
    _later(app, HOUR + 1)
    assert _resend_due(app) == 0  # two hours
    _later(app, HOUR)
    assert _resend_due(app) == 1 and len(_sent_to(fake, run_id)) == 3
    # A third soft bounce in a row: undeliverable, no third resend, the connection exits.
    last = _resends(app, tid)[-1]
    _blocked(client, signer, sendgrid_tenant, run_id, last.provider_message_id, "b3")
    assert len(_resends(app, tid)) == 2
    with app.app_context(), tenant_context(tid):
        reason = db.session.execute(select(Suppression.reason).where(
            Suppression.address == "full@example.com")).scalar_one()
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
    assert reason == "soft_bounces"
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "bounced")


def test_a_late_bounce_of_an_earlier_message_asks_for_nothing(app, client, fake, mail, signer,
                                                               sendgrid_tenant):
    [run_id] = mail("late@example.com")
    tid = sendgrid_tenant.id
    first = _run(app, tid, run_id).provider_message_id
    _blocked(client, signer, sendgrid_tenant, run_id, first, "b1")
    _blocked(client, signer, sendgrid_tenant, run_id, first, "b1-again")  # told twice
    assert len(_resends(app, tid)) == 1
    _later(app, HOUR + 1)
    assert _resend_due(app) == 1
    _blocked(client, signer, sendgrid_tenant, run_id, first, "b-old")  # not the latest message
    assert [r.attempt for r in _resends(app, tid)] == [1]
    assert len(_sent_to(fake, run_id)) == 2


def test_no_resend_once_the_connection_ended(app, fake, bounced, sendgrid_tenant):
    run_id = bounced("gone@example.com")
    tid = sendgrid_tenant.id
    with app.app_context(), tenant_context(tid):
        enrollment_id = db.session.execute(select(Enrollment.id)).scalar_one()
        from saas.engine.lifecycle import end_enrollments

        end_enrollments([enrollment_id], "disconnected", "disconnected")
        db.session.commit()
    _later(app, HOUR + 1)
    assert _resend_due(app) == 1
    [cancelled] = _resends(app, tid)
    assert cancelled.status == "cancelled" and "connection ended" in cancelled.error
    assert len(_sent_to(fake, run_id)) == 1


def test_a_paused_connection_and_a_paused_sender_hold_it_never_drop_it(app, fake, bounced,
                                                                        sendgrid_tenant):
    run_id = bounced("held@example.com")
    tid = sendgrid_tenant.id
    with app.app_context(), tenant_context(tid):
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
        pause(enrollment)
        db.session.commit()
    _later(app, HOUR + 1)
    assert _resend_due(app) == 1
    [held] = _resends(app, tid)
    assert held.status == "pending" and held.error == "Waiting: the connection is paused."
    with app.app_context(), tenant_context(tid):
        resume(db.session.execute(select(Enrollment)).scalar_one())
        db.session.execute(update(Sender).values(paused_at=clock.now(), paused_reason="bounces"))
        db.session.commit()
    _later(app, 16 * 60)
    assert _resend_due(app) == 1
    [held] = _resends(app, tid)
    assert held.status == "pending" and held.error == "Waiting: its sender is paused."
    assert len(_sent_to(fake, run_id)) == 1
    with app.app_context(), tenant_context(tid):
        db.session.execute(update(Sender).values(paused_at=None, paused_reason=None))
        db.session.commit()
    _later(app, 11 * 60)
    assert _resend_due(app) == 1
    assert _resends(app, tid)[0].status == "sent" and len(_sent_to(fake, run_id)) == 2


def test_two_workers_send_each_resend_once(app, client, fake, mail, signer, sendgrid_tenant):
    emails = [f"w{i}@example.com" for i in range(12)]
    ids = mail(*emails)
    tid = sendgrid_tenant.id
    for run_id in ids:
        _blocked(client, signer, sendgrid_tenant, run_id,
                 _run(app, tid, run_id).provider_message_id, f"b{run_id}")
    _later(app, HOUR + 1)
    fake.latency = 0.2  # calls take a while: both workers are inside at once
    start = threading.Barrier(2)
    claimed = []

    def worker():
        with app.app_context(), tenant_context(tid):
            start.wait()
            claimed.append(resends.resend_for(tid, limit=5))
            claimed.append(resends.resend_for(tid, limit=5))
            claimed.append(resends.resend_for(tid, limit=5))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join(30)
    finally:
        fake.latency = 0.0
    assert sum(claimed) == 12
    assert sorted(fake.per_step_run[str(i)] for i in ids) == [2] * 12
    assert {r.status for r in _resends(app, tid)} == {"sent"}


def test_a_timeout_is_uncertain_and_never_sent_a_third_time(app, fake, bounced, sendgrid_tenant):
    bounced("slow@example.com")
    tid = sendgrid_tenant.id
    _later(app, HOUR + 1)
    fake.fail_next("timeout")
    assert _resend_due(app) == 1
    [uncertain] = _resends(app, tid)
    assert uncertain.status == "unknown" and uncertain.error.startswith("Uncertain resend")
    _later(app, 3 * HOUR)
    assert _resend_due(app) == 0


def test_a_resend_left_sending_by_a_dead_worker_is_settled_as_uncertain(app, fake, bounced,
                                                                         sendgrid_tenant):
    run_id = bounced("dead@example.com")
    tid = sendgrid_tenant.id
    _later(app, HOUR + 1)
    with app.app_context(), tenant_context(tid):
        assert resends.claim(tid, clock.now(), "dead-worker-token") != []  # then it died
    assert _resend_due(app) == 0  # within its lease: left alone
    _later(app, 120)
    _resend_due(app)
    [settled] = _resends(app, tid)
    assert settled.status == "unknown" and settled.claim_token is None
    assert len(_sent_to(fake, run_id)) == 1


def test_off_the_tick_the_tick_only_enqueues_one_job(app, fake, bounced, monkeypatch):
    from rq import Queue

    from saas.extensions import get_redis

    run_id = bounced("queued@example.com")
    monkeypatch.setitem(app.config, "SENDS_OFF_TICK", True)
    with app.app_context():
        queue = Queue("sends", connection=get_redis())
        queue.empty()
        assert resends.periodic() == 0  # nothing due yet
        clock.move_forward(timedelta(seconds=HOUR + 1))
        assert resends.periodic() == 1
        assert resends.periodic() == 0  # one queued at a time
        [job] = queue.get_jobs()
        assert job.func_name == "saas.engine.resends.resend_job"
        assert job.perform() == 1
        queue.empty()
    assert len(_sent_to(fake, run_id)) == 2


def test_the_record_page_tells_where_the_resend_stands(app, client, bounced, sendgrid_tenant,
                                                       make_user, login):
    run_id = bounced("page@example.com")
    tid = sendgrid_tenant.id
    record_id = _run(app, tid, run_id).record_id
    login(client, make_user(sendgrid_tenant))
    page = client.get(f"/{sendgrid_tenant.slug}/records/{record_id}").get_data(as_text=True)
    assert "the recipient’s server refused the email for now" in page
    assert "It goes again (attempt 1 of 2)" in page and "452 4.2.2 Mailbox full" in page
    _later(app, HOUR + 1)
    _resend_due(app)
    page = client.get(f"/{sendgrid_tenant.slug}/records/{record_id}").get_data(as_text=True)
    assert "the email was sent again (attempt 1 of 2)" in page
