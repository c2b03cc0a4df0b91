"""Inbound replies read properly: real message fixtures (tests/messaging/fixtures/replies/)
classified, then posted to the Inbound Parse webhook, driving the engine: an out-of-office
pauses until its return day and the periodic resume wakes it; a real reply exits; an
unsubscribe request suppresses and exits; a bounce notice is a bounce."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from email.parser import HeaderParser
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from saas.auth.models import Tenant
from saas.engine import clock, services
from saas.engine import replies as engine_replies
from saas.engine.models import Enrollment
from saas.extensions import db
from saas.jobs import periodic_tasks
from saas.messaging import tracking
from saas.messaging.models import MessageEvent, Suppression
from saas.messaging.replies import classify, new_text, return_date
from saas.tenancy import tenant_context
from tests.messaging import builders
from tests.messaging.conftest import configure

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
RECEIVED = date(2026, 12, 14)  # the fixtures' day


def message(name: str, reply_address: str = "r@reply.example") -> dict:
    """A fixture as Inbound Parse's form fields (subject and from decoded, as SendGrid does)."""
    raw = (FIXTURES / f"{name}.txt").read_text().replace("{reply_address}", reply_address)
    headers, text = raw.split("\n\n", 1)
    parsed = HeaderParser(policy=default_policy).parsestr(headers + "\n\n", headersonly=True)
    return {"headers": headers, "text": text, "subject": str(parsed["subject"]),
            "from": str(parsed["from"]), "to": reply_address,
            "envelope": json.dumps({"to": [reply_address], "from": "lead@example.com"})}


# -- the classifier ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kind", "reason", "back"), [
    ("gmail_vacation", "auto_reply", "Auto-Submitted: auto-replied", date(2027, 1, 12)),
    ("outlook_automatic_reply", "auto_reply", "Auto-Submitted: auto-generated",
     date(2027, 1, 13)),  # "until 12/01": the 12th is the last day away
    ("french_absence_with_date", "auto_reply", "Subject: “Absence du bureau”",
     date(2027, 1, 12)),
    ("french_absence_without_date", "auto_reply", "Auto-Submitted: auto-replied", None),
    ("genuine_reply_quoting_ooo", "reply", "", None),
    ("genuine_reply", "reply", "", None),
    ("bounce_notice", "bounce", "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
     None),
    ("unsubscribe_french", "unsubscribe", "“désinscrire”", None),
])
def test_fixtures_are_classified(name, kind, reason, back):
    form = message(name)
    reading = classify(form["headers"], form["subject"], form["text"], RECEIVED,
                       sender=form["from"])
    assert (reading.kind, reading.reason, reading.return_date) == (kind, reason, back)


@pytest.mark.parametrize(("headers", "subject", "text", "kind"), [
    ("X-Autorespond: yes", "Hello", "Thanks", "auto_reply"),
    ("Precedence: junk", "Hello", "Thanks", "auto_reply"),
    ("Precedence: list", "Re: Hello", "Sounds good", "reply"),
    ("Auto-Submitted: no", "Re: Hello", "Sounds good", "reply"),
    ("", "Out of Office: Hello", "", "auto_reply"),
    ("", "Réponse automatique : Bonjour", "", "auto_reply"),
    ("", "Re: Out of Office: Hello", "Great, talk soon", "reply"),
    ("", "Re: Hello", "Je suis absent jusqu'au 12 janvier.", "auto_reply"),
    ("", "Undeliverable: Hello", "", "bounce"),
    ("", "Non remis : Bonjour", "", "bounce"),
    ("", "Re: Hello", "Please remove me from your list.", "unsubscribe"),
    ("", "Re: Hello", "Stop emailing me.", "unsubscribe"),
    ("", "Re: Bonjour", "Je veux me désabonner.", "unsubscribe"),
    ("", "Re: Hello", "Yes\n\n> To unsubscribe click here", "reply"),
])
def test_headers_subjects_and_texts(headers, subject, text, kind):
    assert classify(headers, subject, text, RECEIVED).kind == kind


@pytest.mark.parametrize(("text", "back"), [
    ("I'll be back on 12 January.", date(2027, 1, 12)),
    ("Returning January 12, 2027.", date(2027, 1, 12)),
    ("I am away until 12/01.", date(2027, 1, 13)),
    ("De retour le 12 janvier.", date(2027, 1, 12)),
    ("Absente jusqu'au 12 janvier 2027.", date(2027, 1, 13)),
    ("Je serai de retour le lundi 4 janvier", date(2027, 1, 4)),
    ("Back on 20 December", date(2026, 12, 20)),  # later this year
    ("Back on 10 December", date(2027, 12, 10)),  # already past: next year's
    ("Back on 12 January 2025", None),  # in the past
    ("Back soon", None),
])
def test_return_dates(text, back):
    assert return_date(text, RECEIVED) == back


def test_new_text_stops_at_the_quote():
    assert new_text("Yes!\n\nLe lun. 14 déc. 2026 à 10:12, Sam <s@x.fr> a écrit :\n> absent") \
        == "Yes!"
    assert new_text("Fine\n-----Original Message-----\nFrom: x") == "Fine"


# -- driving the engine through the webhook ------------------------------------------------------

@pytest.fixture
def world(app, make_tenant):
    """Tenant `replyco`, one lead at its sequence's first automated email, sent; then a task."""
    tenant = make_tenant("replyco")
    configure(app, tenant.id, inbound_domain="reply.replyco.example")
    with app.app_context(), tenant_context(tenant.id):
        template = builders.email_template()
        seq = builders.sequence([
            {"type": "auto_email", "config": {"template_id": template.id}},
            {"type": "wait", "config": {"days": 2}},
            {"type": "task", "name": "Call them"}])
        [run] = builders.connect([builders.lead()], seq)
        run.status, run.provider, run.provider_message_id = "sent", "sendgrid", "msg1"
        db.session.commit()
        run_id, enrollment_id = run.id, run.enrollment_id
    with app.test_request_context():
        address = tracking.reply_address(tenant.id, run_id, "reply.replyco.example")
    return type("World", (), {"tenant": tenant, "run_id": run_id, "address": address,
                              "enrollment_id": enrollment_id})


def post(client, world, name: str):
    response = client.post("/replyco/webhooks/sendgrid/inbound",
                           data=message(name, world.address))
    assert response.status_code == 200
    return response


def enrollment_of(app, world) -> Enrollment:
    with app.app_context(), tenant_context(world.tenant.id):
        found = db.session.execute(select(Enrollment).where(
            Enrollment.id == world.enrollment_id)).scalar_one()
        db.session.expunge(found)
        return found


def events_of(app, world) -> list[MessageEvent]:
    with app.app_context(), tenant_context(world.tenant.id):
        found = db.session.execute(select(MessageEvent).order_by(MessageEvent.id)).scalars().all()
        db.session.expunge_all()
        return found


def next_day(month: int, day: int) -> date:
    today = clock.now().date()
    this_year = date(today.year, month, day)
    return this_year if this_year >= today else date(today.year + 1, month, day)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_out_of_office_pauses_until_its_return_day_then_resumes(app, client, world):
    post(client, world, "gmail_vacation")
    [event] = events_of(app, world)
    back = next_day(1, 12)
    assert event.kind == "auto_reply"
    assert event.data["reason"] == "Auto-Submitted: auto-replied"
    assert event.data["resume_on"] == back.isoformat()
    paused = enrollment_of(app, world)
    assert (paused.status, paused.resume_at) == ("paused", midnight(back))

    with app.app_context():
        engine_replies.resume_due()  # not yet
        assert enrollment_of(app, world).status == "paused"
        clock.move_forward(midnight(back) - clock.now() + timedelta(minutes=1))
        for task in periodic_tasks():  # the worker's tick, as it runs in production
            if task is engine_replies.resume_due:
                task()
    resumed = enrollment_of(app, world)
    assert (resumed.status, resumed.resume_at) == ("active", None)


def test_out_of_office_without_a_date_pauses_for_the_tenants_days(app, client, world):
    configure(app, world.tenant.id, ooo_resume_days=3)
    post(client, world, "french_absence_without_date")
    with app.app_context():
        back = clock.now().date() + timedelta(days=3)
    paused = enrollment_of(app, world)
    assert (paused.status, paused.resume_at) == ("paused", midnight(back))


def test_a_persons_resume_overrides_the_out_of_office(app, client, world):
    post(client, world, "outlook_automatic_reply")
    with app.app_context(), tenant_context(world.tenant.id):
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
        services.resume(enrollment)
        services.pause(enrollment)  # paused again by hand: it stays paused
        clock.move_forward(timedelta(days=400))
        assert engine_replies.resume_due() == 0
    assert (enrollment_of(app, world).status, enrollment_of(app, world).resume_at) == (
        "paused", None)


@pytest.mark.parametrize("name", ["genuine_reply", "genuine_reply_quoting_ooo"])
def test_a_real_reply_exits(app, client, world, name):
    post(client, world, name)
    assert [e.kind for e in events_of(app, world)] == ["reply"]
    ended = enrollment_of(app, world)
    assert (ended.status, ended.exit_reason) == ("exited", "replied")


def test_an_unsubscribe_request_suppresses_and_exits(app, client, world):
    post(client, world, "unsubscribe_french")
    assert [e.kind for e in events_of(app, world)] == ["unsubscribe"]
    ended = enrollment_of(app, world)
    assert (ended.status, ended.exit_reason) == ("exited", "unsubscribed")
    with app.app_context(), tenant_context(world.tenant.id):
        assert db.session.execute(select(Suppression.address, Suppression.reason)).all() == [
            ("lead@example.com", "unsubscribe")]


def test_a_bounce_notice_is_a_bounce(app, client, world):
    post(client, world, "bounce_notice")
    [event] = events_of(app, world)
    assert (event.kind, event.address) == ("bounce", "lead@example.com")  # not mailer-daemon
    ended = enrollment_of(app, world)
    assert (ended.status, ended.exit_reason) == ("exited", "bounced")
    with app.app_context(), tenant_context(world.tenant.id):
        assert db.session.execute(select(Suppression.address, Suppression.reason)).all() == [
            ("lead@example.com", "bounce")]


def test_out_of_office_stays_out_of_reply_rates(app, client, world):
    """Analytics count replies by kind "reply": the out-of-office is not one, the real reply
    that follows is."""
    from saas.analytics.rollup import compute
    from saas.sequences.models import Sequence

    def replies() -> tuple[int, int]:
        with app.app_context(), tenant_context(world.tenant.id):
            sequence = db.session.execute(select(Sequence)).scalar_one()
            rollup = compute(sequence, clock.now())
            in_steps = sum(cell.get("replied", 0) for days in rollup.steps.values()
                           for cell in days.values())
            return sum(rollup.replies.values()), in_steps

    post(client, world, "gmail_vacation")
    assert replies() == (0, 0)
    post(client, world, "genuine_reply_quoting_ooo")
    assert replies() == (1, 1)
    assert enrollment_of(app, world).exit_reason == "replied"


@pytest.mark.parametrize(("value", "stored"), [("0", None), ("61", None), ("two", None),
                                               ("14", 14)])
def test_the_days_setting_is_validated(app, admin_client, admin, value, stored):
    page = admin_client.post("/acme/settings/messaging", data={"ooo_resume_days": value})
    assert page.status_code == (302 if stored else 422)
    if not stored:
        assert "Enter a whole number of days from 1 to 60." in page.get_data(as_text=True)
    with app.app_context():
        settings = db.session.execute(select(Tenant.settings).where(
            Tenant.slug == "acme")).scalar()
    assert ((settings or {}).get("messaging") or {}).get("ooo_resume_days") == stored


# -- a manager's correction ----------------------------------------------------------------------

@pytest.fixture
def manager(client, world, make_user, login):
    from saas.auth.models import Role

    user = make_user(world.tenant, roles=[Role.SEQUENCE_MANAGER])
    assert login(client, user).status_code == 302
    return client


def correct(manager, event_id: int, as_kind: str) -> str:
    response = manager.post(f"/replyco/message-events/{event_id}/correct", data={"as": as_kind},
                            follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_real_reply_marked_as_out_of_office_leaves_the_rates(app, manager, world):
    post(manager, world, "genuine_reply")
    [event] = events_of(app, world)
    page = correct(manager, event.id, "auto_reply")
    assert "The record stays out of the sequence; connect it again" in page
    [event] = events_of(app, world)
    assert (event.kind, event.data["corrected_from"]) == ("auto_reply", "reply")
    ended = enrollment_of(app, world)
    assert (ended.status, ended.exit_reason) == ("exited", "replied")  # kept: see the docstring
    assert "Out-of-office reply (corrected by a manager)" in page


def test_a_correction_made_twice_changes_nothing_the_second_time(app, manager, world):
    post(manager, world, "gmail_vacation")
    [event] = events_of(app, world)
    assert "the record left the sequence (replied)" in correct(manager, event.id, "reply")
    assert "This reply was already corrected; nothing changed." in correct(
        manager, event.id, "reply")
    assert [e.kind for e in events_of(app, world)] == ["reply"]
    assert enrollment_of(app, world).exit_reason == "replied"


def test_a_seller_cannot_correct(app, client, world, make_user, login):
    from saas.auth.models import Role

    post(client, world, "gmail_vacation")
    [event] = events_of(app, world)
    seller = make_user(world.tenant, roles=[Role.SELLER])
    login(client, seller)
    response = client.post(f"/replyco/message-events/{event.id}/correct", data={"as": "reply"})
    assert response.status_code == 403
    assert [e.kind for e in events_of(app, world)] == ["auto_reply"]
    assert enrollment_of(app, world).status == "paused"
