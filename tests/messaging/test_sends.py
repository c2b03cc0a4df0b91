"""Automated sends through the tick: payloads, retries and their limits, unknown reconciliation,
a failing address in a batch, suppression at send time."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from saas.config import MESSAGING_TUNING
from saas.engine import clock, hooks
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.engine.uncertain import resend_all_tenants
from saas.extensions import db
from saas.messaging import tracking
from saas.messaging.suppression import suppress
from saas.tenancy import tenant_context
from tests.messaging import builders


@pytest.fixture
def outreach(app, sendgrid_tenant):
    """connect(emails) -> step run ids at an automated email (then a task)."""

    def connect(*emails, settings=None):
        with app.app_context(), tenant_context(sendgrid_tenant.id):
            template = builders.email_template()
            seq = builders.sequence([
                {"type": "auto_email", "config": {"template_id": template.id}},
                {"type": "task", "name": "Call them"}], settings=settings)
            runs = builders.connect([builders.lead(e, first_name=e.split("@")[0].title())
                                     for e in emails], seq)
            db.session.commit()
            return [r.id for r in runs]
    return connect


def tick(app):
    with app.app_context():
        return run_tick(budget_seconds=30)


def runs(app, tenant_id, ids):
    with app.app_context(), tenant_context(tenant_id):
        rows = db.session.execute(select(StepRun).where(StepRun.id.in_(ids))
                                  .order_by(StepRun.id)).scalars().all()
        db.session.expunge_all()
        return rows


def later(app, seconds):
    with app.app_context():
        clock.move_forward(timedelta(seconds=seconds))


def test_payload_and_tracking(app, outreach, fake, sendgrid_tenant):
    ids = outreach("ann@example.com", "bob@example.com")
    tick(app)
    sent = sorted(fake.emails(), key=lambda e: int(e["step_run_id"]))
    assert [e["to"] for e in sent] == [["ann@example.com"], ["bob@example.com"]]
    rows = runs(app, sendgrid_tenant.id, ids)
    for run, email in zip(rows, sent, strict=True):
        body = email["body"]
        assert run.status == "sent" and run.provider == "sendgrid"
        assert run.provider_message_id == email["message_id"] and run.attempts == 1
        assert body["custom_args"] == {"step_run_id": str(run.id),
                                       "tenant_id": str(sendgrid_tenant.id)}
        assert sorted(body["categories"]) == [f"sequence:{run.sequence_id}", "tenant:mailco"]
        headers = body["headers"]
        unsubscribe = headers["List-Unsubscribe"].strip("<>")
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe.startswith("http://localhost:5000/mailco/t/u/")
        assert re.fullmatch(rf"r-{sendgrid_tenant.id}-{run.id}-[0-9a-f]{{20}}"
                            r"@reply\.mailco\.example", body["reply_to"]["email"])
        html = next(c["value"] for c in body["content"] if c["type"] == "text/html")
        text = next(c["value"] for c in body["content"] if c["type"] == "text/plain")
        assert "Hello " + email["to"][0].split("@")[0].title() in html
        assert "https://example.com/offer" not in html.replace("u=https%3A", "")
        click = re.search(r'href="(http://localhost:5000/mailco/t/c/[^"]+)"', html).group(1)
        target = parse_qs(urlsplit(click.replace("&amp;", "&")).query)["u"][0]
        assert target == "https://example.com/offer?x=1"
        assert f'href="{unsubscribe}"' in html  # the template's own link, not rewritten
        assert re.search(r'<img src="http://localhost:5000/mailco/t/o/[^"]+\.gif"', html)
        assert unsubscribe in text
        assert body["subject"] == "Hi " + email["to"][0].split("@")[0].title()
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        tasks = db.session.execute(select(StepRun).where(StepRun.step_type == "task")).all()
    assert len(tasks) == 2  # sent ones moved on
    tick(app)
    assert len(fake.emails()) == 2  # nothing sent twice


@pytest.mark.parametrize("chunk", [200, 2])
def test_429_backs_off_until_the_reset_and_the_rest_wait(app, outreach, fake, sendgrid_tenant,
                                                         chunk, monkeypatch):
    """The rest of the chunk, and the chunks after it, wait untried (attempt not counted)."""
    monkeypatch.setitem(app.config, "SEND_CHUNK", chunk)
    app.config["SEND_CONCURRENCY"] = 1
    try:
        fake.reset_in = 120
        fake.fail_next("429")
        ids = outreach("a@example.com", "b@example.com", "c@example.com")
        tick(app)
        first, *rest = runs(app, sendgrid_tenant.id, ids)
        with app.app_context():
            now = clock.now()
        assert first.status == "pending" and first.attempts == 1 and "429" in first.error
        assert first.due_at >= now + timedelta(seconds=100)  # the reset header, honoured
        assert all(r.status == "pending" and r.attempts == 0 for r in rest)
        assert all(r.due_at >= now + timedelta(seconds=100) for r in rest)
        assert fake.emails() == []
        tick(app)  # not due yet
        assert fake.emails() == []
        later(app, 3600)
        tick(app)
        assert [r.status for r in runs(app, sendgrid_tenant.id, ids)] == ["sent"] * 3
        assert sorted(fake.per_step_run.values()) == [1, 1, 1]
    finally:
        app.config["SEND_CONCURRENCY"] = MESSAGING_TUNING["SEND_CONCURRENCY"]


def test_retries_stop_at_the_limit(app, outreach, fake, sendgrid_tenant):
    app.config["SEND_MAX_ATTEMPTS"] = 3
    try:
        fake.set_failure_rate(1.0, ["429"])
        [run_id] = outreach("a@example.com")
        for _ in range(4):
            tick(app)
            later(app, 7200)
        [run] = runs(app, sendgrid_tenant.id, [run_id])
        assert run.status == "failed" and run.attempts == 3
        assert run.error.startswith("Gave up after 3 attempts")
        assert len([r for r in fake.requests if r.get("failure") == "429"]) == 3
    finally:
        app.config["SEND_MAX_ATTEMPTS"] = MESSAGING_TUNING["SEND_MAX_ATTEMPTS"]


def test_refused_connection_is_retried(app, outreach, fake, sendgrid_tenant):
    live = app.config["SENDGRID_BASE_URL"]
    app.config["SENDGRID_BASE_URL"] = fake.dead_url()
    [run_id] = outreach("a@example.com")
    tick(app)
    [run] = runs(app, sendgrid_tenant.id, [run_id])
    assert run.status == "pending" and "refused" in run.error
    app.config["SENDGRID_BASE_URL"] = live
    later(app, 3600)
    tick(app)
    [run] = runs(app, sendgrid_tenant.id, [run_id])
    assert run.status == "sent" and run.attempts == 2 and fake.per_step_run[str(run_id)] == 1


def test_unknown_is_resent_only_without_events_and_with_an_event_source(app, outreach, fake,
                                                                        sendgrid_tenant):
    fake.fail_next("500")
    fake.fail_next("timeout")
    app.config["SEND_CONCURRENCY"] = 1
    # Room for a loaded machine: the 500 must come back within the timeout, the slow answer
    # well after it (at 0.5 s a busy CI answered the 500 too late, read as a timeout).
    app.config["PROVIDER_TIMEOUT_SECONDS"] = 2.0
    fake.slow_seconds = 4.0
    try:
        lost, slow = outreach("lost@example.com", "slow@example.com")
        tick(app)
    finally:
        app.config["SEND_CONCURRENCY"] = MESSAGING_TUNING["SEND_CONCURRENCY"]
    rows = runs(app, sendgrid_tenant.id, [lost, slow])
    assert [r.status for r in rows] == ["unknown", "unknown"]
    assert "500" in rows[0].error and "timeout" in rows[1].error
    assert fake.per_step_run == {str(slow): 1}  # the slow one did reach the provider
    # The provider's events arrive for the slow one (it has it); none for the lost one.
    from saas.messaging import events

    with app.app_context(), tenant_context(sendgrid_tenant.id):
        events.record(kind="processed", provider="sendgrid", provider_event_id="p-slow",
                      step_run_id=slow)
        db.session.commit()
    with app.app_context():
        assert resend_all_tenants() == 0  # within the window: nothing resent
    later(app, 3601)
    with app.app_context():  # no signed event source: a resend could send twice; never alone
        assert resend_all_tenants() == 0
    from tests.messaging.conftest import configure

    configure(app, sendgrid_tenant.id, sendgrid_webhook_key="verification-key")
    with app.app_context():  # signed events, and none came for the lost one: sent again
        assert resend_all_tenants() == 1
    tick(app)
    rows = runs(app, sendgrid_tenant.id, [lost, slow])
    assert [r.status for r in rows] == ["sent", "sent"]
    assert fake.per_step_run == {str(slow): 1, str(lost): 1}
    assert rows[0].attempts == 2


def test_a_bad_address_neither_blocks_nor_repeats_its_batch(app, outreach, fake,
                                                           sendgrid_tenant):
    ids = outreach("a@example.com", "broken@example.invalid", "c@example.com")
    tick(app)
    tick(app)
    rows = runs(app, sendgrid_tenant.id, ids)
    assert [r.status for r in rows] == ["sent", "failed", "sent"]
    assert "valid address" in rows[1].error
    assert fake.per_step_run == {str(ids[0]): 1, str(ids[2]): 1}


def test_a_template_error_fails_only_its_message(app, sendgrid_tenant, fake):
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        broken = builders.email_template(html="<p>{{ 1/0 }}</p>")
        seq = builders.sequence([{"type": "auto_email",
                                  "config": {"template_id": broken.id}}])
        [run] = builders.connect([builders.lead("x@example.com")], seq)
        db.session.commit()
        run_id = run.id
    tick(app)
    [run] = runs(app, sendgrid_tenant.id, [run_id])
    assert run.status == "failed" and "division" in run.error
    assert fake.emails() == []


def test_suppression_is_checked_at_send_time(app, outreach, fake, sendgrid_tenant):
    kept, gone = outreach("kept@example.com", "gone@example.com")
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        suppress("GONE@example.com", "email", "unsubscribe")  # after queueing, before sending
        db.session.commit()
    tick(app)
    rows = runs(app, sendgrid_tenant.id, [kept, gone])
    assert [r.status for r in rows] == ["sent", "skipped"]
    assert "suppression list" in rows[1].error
    assert fake.per_step_run == {str(kept): 1}
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        enrollment = db.session.execute(select(Enrollment).where(
            Enrollment.id == rows[1].enrollment_id)).scalar_one()
        assert (enrollment.status, enrollment.exit_reason) == ("exited", "unsubscribed")


def test_outbox_tenant_sends_through_the_tick(app, make_tenant):
    tenant = make_tenant("plainco")
    with app.app_context(), tenant_context(tenant.id):
        template = builders.email_template()
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}}])
        [run] = builders.connect([builders.lead("p@example.com")], seq)
        db.session.commit()
        run_id = run.id
    tick(app)
    with app.app_context(), tenant_context(tenant.id):
        from saas.messaging.models import OutboxMessage

        message = db.session.execute(select(OutboxMessage)).scalar_one()
        run = db.session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        assert run.status == "sent" and run.provider_message_id == f"outbox-{message.id}"
        assert message.step_run_id == run_id
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/plainco/t/o/" in message.html_body
        token = message.headers["List-Unsubscribe"].split("/t/u/")[1].split("?")[0]
        assert tracking.read(tracking.UNSUBSCRIBE, token, "p@example.com").step_run_id == run_id


def test_the_outbox_stores_only_the_runs_whose_claim_still_holds(app, make_tenant):
    """A chunk of outbox sends is marked sent by one compare-and-set: a run whose claim was
    taken away meanwhile (its lease expired: `unknown`, no token) gets no message, the others
    one each, with their outbox ids written back."""
    tenant = make_tenant("batchco")
    with app.app_context(), tenant_context(tenant.id):
        template = builders.email_template()
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}}])
        runs_ = builders.connect([builders.lead(f"p{i}@example.com") for i in range(3)], seq)
        db.session.commit()
        ids = sorted(r.id for r in runs_)

    def take_one_away(run_ids):
        assert sorted(run_ids) == ids  # the whole chunk at once
        with db.engine.begin() as other:  # another session, as recover_stale would
            other.execute(text("UPDATE step_run SET status = 'unknown', claim_token = NULL "
                               "WHERE id = :id"), {"id": ids[1]})

    hooks.install("before_store", take_one_away)
    try:
        tick(app)
    finally:
        hooks.clear()
    with app.app_context(), tenant_context(tenant.id):
        from saas.messaging.models import OutboxMessage

        messages = db.session.execute(select(OutboxMessage)).scalars().all()
        found = {r.id: r for r in db.session.execute(
            select(StepRun).where(StepRun.id.in_(ids))).scalars()}
        assert sorted(m.step_run_id for m in messages) == [ids[0], ids[2]]
        for message in messages:
            run = found[message.step_run_id]
            assert run.status == "sent" and run.provider_message_id == f"outbox-{message.id}"
        assert found[ids[1]].status == "unknown" and found[ids[1]].provider_message_id is None


def test_automated_sms_through_twilio(app, twilio_tenant, fake):
    with app.app_context(), tenant_context(twilio_tenant.id):
        template = builders.sms_template()
        seq = builders.sequence([{"type": "auto_sms", "config": {"template_id": template.id}}])
        runs_ = builders.connect([builders.lead("a@example.com", phone="+33611111111"),
                                  builders.lead("b@example.com", phone=None)], seq)
        db.session.commit()
        ids = [r.id for r in runs_]
    tick(app)
    texted, no_phone = runs(app, twilio_tenant.id, ids)
    [sms] = fake.texts()
    assert sms["form"]["Body"] == "Hi Lea, reply STOP to stop"
    assert sms["form"]["StatusCallback"] == \
        f"http://localhost:5000/textco/webhooks/twilio/status?sr={texted.id}"
    assert (texted.status, texted.provider, texted.provider_message_id) == (
        "sent", "twilio", sms["message_id"])
    assert no_phone.status == "failed" and "no phone number" in no_phone.error


def test_twilio_status_for_an_unknown_sms_reconciles_it(app, client, twilio_tenant, fake):
    """A status callback names its step run (?sr=): an uncertain SMS is reconciled by it; the
    same callback in another tenant's URL reaches nothing."""
    from tests.messaging.signing import twilio_signature

    with app.app_context(), tenant_context(twilio_tenant.id):
        template = builders.sms_template()
        seq = builders.sequence([{"type": "auto_sms", "config": {"template_id": template.id}}])
        [run] = builders.connect([builders.lead("a@example.com", phone="+33611111111")], seq)
        db.session.commit()
        run_id = run.id
    fake.fail_next("timeout")
    tick(app)
    [run] = runs(app, twilio_tenant.id, [run_id])
    assert run.status == "unknown"
    form = {"MessageSid": fake.texts()[0]["message_id"], "MessageStatus": "sent",
            "To": "+33611111111"}
    path = f"/textco/webhooks/twilio/status?sr={run_id}"
    signature = twilio_signature("twilio-secret", "http://localhost:5000" + path, form)
    assert client.post(path, data=form,
                       headers={"X-Twilio-Signature": signature}).status_code == 204
    [run] = runs(app, twilio_tenant.id, [run_id])
    assert run.status == "sent" and run.provider_message_id == form["MessageSid"]


def test_the_sellers_own_sender_and_name(app, sendgrid_tenant, fake):
    from tests.messaging.conftest import configure

    with app.app_context(), tenant_context(sendgrid_tenant.id):
        seller_id = builders.seller().id
        db.session.commit()
    configure(app, sendgrid_tenant.id, sellers={
        str(seller_id): {"from_address": "sam@mailco.example", "from_name": "Sam at Mail Co"}})
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        template = builders.email_template(html="<p>Best, {{ seller.name }}</p>")
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}}])
        builders.connect([builders.lead("a@example.com")], seq)
        db.session.commit()
    tick(app)
    [email] = fake.emails()
    assert email["body"]["from"] == {"email": "sam@mailco.example", "name": "Sam at Mail Co"}
    html = next(c["value"] for c in email["body"]["content"] if c["type"] == "text/html")
    assert "Best, Sam Seller" in html


def test_an_ended_enrollments_unknown_send_is_not_resent(app, outreach, fake, sendgrid_tenant):
    from saas.engine.lifecycle import end_enrollments

    fake.fail_next("500")
    [run_id] = outreach("a@example.com")
    tick(app)
    [run] = runs(app, sendgrid_tenant.id, [run_id])
    assert run.status == "unknown"
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        end_enrollments([run.enrollment_id], "exited", "replied")
        db.session.commit()
    later(app, 7200)
    with app.app_context():
        assert resend_all_tenants() == 0
    tick(app)
    assert fake.emails() == []
