"""The Up next panel: each activity type's actions, the composer, the call log feeding a call
condition, skip and snooze, skip wait, several sequences, history and upcoming steps."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from saas.auth.models import Role
from saas.engine import clock
from saas.engine.models import Enrollment, StepRun
from saas.messaging.models import OutboxMessage
from saas.messaging.suppression import suppress
from tests.worklist import factories as f

HX = {"HX-Request": "true"}


def _connect(world, steps, *, seller=None, settings=None, name="Trade show follow-up",
             **record_values):
    """One lead connected to a new sequence; returns (record id, enrollment id, open run id)."""
    seller = seller or world.seller
    with world.data():
        seq = f.sequence(steps, name=name, settings=settings)
        record = f.lead(**record_values)
        enrollment = f.connect(record, seq, seller.id)
        run = f.current_run(enrollment.id)
        return record.id, enrollment.id, run.id if run else None


def _runs(world, enrollment_id):
    with world.data() as session:
        return [(r.step_type, r.status, r.outcome) for r in session.execute(
            select(StepRun).where(StepRun.enrollment_id == enrollment_id)
            .order_by(StepRun.id)).scalars()]


def _enrollment(world, enrollment_id):
    with world.data() as session:
        e = session.execute(select(Enrollment).where(Enrollment.id == enrollment_id)).scalar_one()
        return e.status, e.steps_done


def test_the_record_page_shows_the_current_activity_upcoming_steps_and_history(world):
    record_id, enrollment_id, run_id = _connect(world, [
        {"type": "task", "name": "Research the company", "description": "Read their site."},
        {"type": "wait", "name": "Wait a day", "config": {"days": 1, "hours": 0}},
        {"type": "call", "name": "Follow-up call"}])
    client = world.client_for(world.seller)
    html = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    panel = html.split('id="upnext"', 1)[1]
    assert "Trade show follow-up" in panel and "Research the company" in panel
    assert "Read their site." in panel and "Mark complete" in panel
    upcoming = panel.split("Coming next", 1)[1]
    assert "Wait a day" in upcoming and "1 day" in upcoming and "Follow-up call" in upcoming

    answer = client.post(f"/acme/activities/{run_id}/complete",
                         data={"from": "record", "notes": "Big account"}, headers=HX)
    panel = answer.get_data(as_text=True)
    assert panel.startswith('<aside class="card upnext" id="upnext"')
    assert "Done. The record moves on" in panel
    assert "Waiting 1 day: moves on at" in panel
    done = panel.split("<h4 class=\"un-subhead\">Done</h4>", 1)[1]
    assert "Research the company" in done and "by Sam Seller" in done and "Big account" in done


def test_the_composer_is_prefilled_from_the_template_and_sends_through_the_outbox(world):
    with world.data():
        template_id = f.email_template(
            name="Introductory email", subject="Great to meet you, {{ record.first_name }}",
            html="<p>Hi {{ record.first_name }}, thanks for visiting our booth at "
                 "{{ record.company }}.</p>").id
    record_id, enrollment_id, run_id = _connect(world, [
        {"type": "email", "name": "Introductory email", "config": {"template_id": template_id}},
        {"type": "task", "name": "Check the reply"}],
        first_name="Nina", company="Globex", email="nina@globex.example")
    client = world.client_for(world.seller)
    html = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert 'value="Great to meet you, Nina"' in html
    assert "Hi Nina, thanks for visiting our booth at Globex." in html
    assert "nina@globex.example" in html and "Open composer" in html

    answer = client.post(f"/acme/activities/{run_id}/send", headers=HX, data={
        "from": "record", "subject": "Great to meet you, Nina",
        "body": "Hi Nina, thanks for visiting our booth at Globex."})
    panel = answer.get_data(as_text=True)
    assert "Sent. The record moves on" in panel and "Check the reply" in panel
    with world.data() as session:
        message = session.execute(select(OutboxMessage)).scalar_one()
        assert message.to_address == "nina@globex.example"
        assert message.subject == "Great to meet you, Nina"
        assert message.step_run_id == run_id
        assert "booth at Globex" in message.html_body and "<p>" in message.html_body
        assert "Unsubscribe" in message.text_body  # the messaging area's tracking applied
        run = session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        assert run.status == "completed" and run.provider == "outbox"
        assert run.provider_message_id == f"outbox-{message.id}"


def test_an_edited_email_is_sent_as_typed(world):
    with world.data():
        template_id = f.email_template().id
    record_id, _, run_id = _connect(world, [
        {"type": "email", "name": "Intro", "config": {"template_id": template_id}}],
        email="edit@example.com")
    client = world.client_for(world.seller)
    client.post(f"/acme/activities/{run_id}/send", data={
        "from": "record", "subject": "My own subject", "body": "Line one\nLine <two>"})
    with world.data() as session:
        message = session.execute(select(OutboxMessage)).scalar_one()
        assert message.subject == "My own subject"
        assert message.html_body.startswith("<p>Line one<br>Line &lt;two&gt;</p>")


def test_an_email_step_without_template_opens_an_empty_composer_and_needs_a_subject(world):
    record_id, _, run_id = _connect(world, [{"type": "email", "name": "Personal note"}])
    client = world.client_for(world.seller)
    answer = client.post(f"/acme/activities/{run_id}/send", headers=HX,
                         data={"from": "record", "subject": "", "body": "Hello"})
    panel = answer.get_data(as_text=True)
    assert "Give the email a subject." in panel
    assert re.search(r'<details class="un-composer" open>', panel)
    assert ">Hello</textarea>" in panel  # what was typed is kept
    with world.data() as session:
        assert session.execute(select(OutboxMessage)).first() is None


def test_a_suppressed_address_is_refused_with_a_warning(world):
    with world.data():
        template_id = f.email_template().id
    record_id, _, run_id = _connect(world, [
        {"type": "email", "name": "Intro", "config": {"template_id": template_id}}],
        email="gone@example.com")
    with world.data():
        suppress("gone@example.com", "email", "unsubscribe")
    client = world.client_for(world.seller)
    html = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert "gone@example.com is on the suppression list" in html
    answer = client.post(f"/acme/activities/{run_id}/send", headers=HX,
                         data={"from": "record", "subject": "Hi", "body": "Hello"})
    assert "nothing was sent" in answer.get_data(as_text=True)
    with world.data() as session:
        assert session.execute(select(OutboxMessage)).first() is None
        run = session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        assert run.status == "open"


def test_an_ab_step_composes_from_the_records_version(world):
    with world.data():
        a = f.email_template(name="Version A", subject="Subject A").id
        b = f.email_template(name="Version B", subject="Subject B").id
    config = {"display_name": "Intro test", "split_a": 50, "metric": "opens", "ends": "auto",
              "end_at": None, "default_version": "A",
              "versions": {"A": {"type": "email", "name": "A", "template_id": a},
                           "B": {"type": "email", "name": "B", "template_id": b}}}
    record_id, _, run_id = _connect(world, [{"type": "ab_test", "name": "Intro test",
                                             "config": config}])
    with world.data() as session:
        run = session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        version = run.ab_version
        assert run.step_type == "email" and version in ("A", "B")
    html = world.client_for(world.seller).get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert f'value="Subject {version}"' in html
    assert f"Version {version}" in html


def test_sms_composer_prefills_counts_parts_and_sends(world):
    with world.data():
        template_id = f.sms_template(body="Hi {{ record.first_name }}, free for a call?").id
    record_id, enrollment_id, run_id = _connect(world, [
        {"type": "sms", "name": "Text them", "config": {"template_id": template_id}}],
        first_name="Omar", phone="+33611112222")
    client = world.client_for(world.seller)
    html = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert ">Hi Omar, free for a call?</textarea>" in html
    assert f'data-sms-counter="sms-count-{run_id}"' in html
    assert "js/sms-counter.js" in html and "js/worklist.js" in html
    client.post(f"/acme/activities/{run_id}/send",
                data={"from": "record", "body": "Hi Omar, free for a call?"})
    with world.data() as session:
        message = session.execute(select(OutboxMessage)).scalar_one()
        assert (message.channel, message.to_address) == ("sms", "+33611112222")
        assert message.text_body == "Hi Omar, free for a call?"
    assert _enrollment(world, enrollment_id)[0] == "completed"


def test_call_outcome_feeds_the_call_condition(world):
    steps = [{"type": "call", "name": "Discovery call"},
             {"type": "call_condition", "name": "Reached?",
              "config": {"outcomes": ["connected"]},
              "yes": [{"type": "task", "name": "Send the proposal"}],
              "no": [{"type": "task", "name": "Try again next week"}]}]
    record_id, e1, run1 = _connect(world, steps, phone="+33600000001")
    _, e2, run2 = _connect(world, steps, name="Another")
    client = world.client_for(world.seller)
    html = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert 'href="tel:+33600000001"' in html and "Log the call" in html
    missing = client.post(f"/acme/activities/{run1}/call", headers=HX, data={"from": "record"})
    assert "Choose how the call went." in missing.get_data(as_text=True)

    answer = client.post(f"/acme/activities/{run1}/call", headers=HX,
                         data={"from": "record", "outcome": "connected", "notes": "Keen"})
    assert "Send the proposal" in answer.get_data(as_text=True)
    assert _runs(world, e1) == [("call", "completed", "connected"),
                                ("call_condition", "completed", "yes"),
                                ("task", "open", None)]
    client.post(f"/acme/activities/{run2}/call", data={"from": "record", "outcome": "no_answer"})
    assert _runs(world, e2)[1:] == [("call_condition", "completed", "no"), ("task", "open", None)]
    with world.data() as session:
        last = session.execute(step_name_of(e2)).scalar_one()
    assert last == "Try again next week"


def step_name_of(enrollment_id):
    from saas.sequences.models import Step

    return (select(Step.name).join(StepRun, StepRun.step_id == Step.id)
            .where(StepRun.enrollment_id == enrollment_id, StepRun.status == "open"))


def test_task_completes_with_notes_and_the_sequence_completes(world):
    record_id, enrollment_id, run_id = _connect(world, [{"type": "task", "name": "Book demo"}])
    client = world.client_for(world.seller)
    answer = client.post(f"/acme/activities/{run_id}/complete", headers=HX,
                         data={"from": "record", "notes": "Booked for Tuesday"})
    panel = answer.get_data(as_text=True)
    assert "Sequence completed" in panel and "Booked for Tuesday" in panel
    assert _enrollment(world, enrollment_id) == ("completed", 1)


def test_skip_with_reason_moves_on_and_snooze_keeps_the_activity(world):
    record_id, enrollment_id, run_id = _connect(world, [
        {"type": "call", "name": "Call"}, {"type": "task", "name": "After the call"}])
    client = world.client_for(world.seller)
    later = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    snoozed = client.post(f"/acme/activities/{run_id}/snooze", headers=HX,
                          data={"from": "record", "until": later}).get_data(as_text=True)
    assert "Snoozed until" in snoozed and "snoozed until" in snoozed
    assert _runs(world, enrollment_id) == [("call", "open", None)]
    bad = client.post(f"/acme/activities/{run_id}/snooze", headers=HX,
                      data={"from": "record", "until": "not a time"}).get_data(as_text=True)
    assert "Choose when the activity should come back." in bad
    skipped = client.post(f"/acme/activities/{run_id}/skip", headers=HX,
                          data={"from": "record", "reason": "No phone number"})
    assert "After the call" in skipped.get_data(as_text=True)
    assert _runs(world, enrollment_id) == [("call", "skipped", "skipped"),
                                           ("task", "open", None)]


def test_skip_wait_only_when_the_sequence_allows_it(world):
    steps = [{"type": "wait", "name": "Wait 2 days", "config": {"days": 2, "hours": 0}},
             {"type": "task", "name": "After the wait"}]
    record_id, enrollment_id, run_id = _connect(world, steps,
                                                settings={"allow_skip_wait": True})
    closed_id, closed_enrollment, closed_run = _connect(world, steps, name="Strict")
    client = world.client_for(world.seller)
    html = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert "Skip wait time" in html
    assert "Skip wait time" not in client.get(f"/acme/records/{closed_id}").get_data(
        as_text=True)
    answer = client.post(f"/acme/activities/{run_id}/skip-wait", headers=HX,
                         data={"from": "record"})
    assert "After the wait" in answer.get_data(as_text=True)
    assert _runs(world, enrollment_id)[-1] == ("task", "open", None)
    refused = client.post(f"/acme/activities/{closed_run}/skip-wait", headers=HX,
                          data={"from": "record"})
    assert "already done" in refused.get_data(as_text=True)
    assert _runs(world, closed_enrollment) == [("wait", "waiting", None)]


def test_every_sequence_of_the_record_has_its_own_up_next(world):
    with world.data():
        one = f.sequence([{"type": "task", "name": "Task of one"}], name="Sequence one")
        two = f.sequence([{"type": "call", "name": "Call of two"}], name="Sequence two")
        record = f.lead()
        f.connect(record, one, world.seller.id)
        f.connect(record, two, world.other.id)
        record_id = record.id
    html = world.client_for(world.seller).get(f"/acme/records/{record_id}").get_data(
        as_text=True)
    assert html.count('class="un-sequence"') == 2
    assert "Task of one" in html and "Call of two" in html
    # The other seller's activity is shown, without actions for this seller.
    assert "This activity belongs to Olga Other." in html
    assert html.count("Mark complete") == 1


def test_double_send_sends_once(world):
    with world.data():
        template_id = f.email_template().id
    record_id, enrollment_id, run_id = _connect(world, [
        {"type": "email", "name": "Intro", "config": {"template_id": template_id}},
        {"type": "task", "name": "Next"}])
    client = world.client_for(world.seller)
    data = {"from": "record", "subject": "Hi", "body": "Hello"}
    client.post(f"/acme/activities/{run_id}/send", data=data, headers=HX)
    again = client.post(f"/acme/activities/{run_id}/send", data=data, headers=HX)
    assert "already done" in again.get_data(as_text=True)
    with world.data() as session:
        assert len(session.execute(select(OutboxMessage)).all()) == 1
    assert _enrollment(world, enrollment_id) == ("active", 1)


def test_plain_form_post_redirects_to_the_record_page(world):
    record_id, _, run_id = _connect(world, [{"type": "task", "name": "Task"},
                                            {"type": "task", "name": "Next task"}])
    client = world.client_for(world.seller)
    answer = client.post(f"/acme/activities/{run_id}/complete", data={"from": "record"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/acme/records/{record_id}#upnext"
    page = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert "Done. The record moves on" in page and "Next task" in page
    # The panel is also served alone (for htmx reloads).
    alone = client.get(f"/acme/records/{record_id}/upnext").get_data(as_text=True)
    assert alone.startswith('<aside class="card upnext"') and "Next task" in alone


def test_after_an_action_the_panel_links_to_the_next_record_on_the_worklist(world):
    record_id, _, run_id = _connect(world, [{"type": "task", "name": "Only task"}])
    other_id, _, _ = _connect(world, [{"type": "call", "name": "Call later"}], name="Calls")
    client = world.client_for(world.seller)
    panel = client.post(f"/acme/activities/{run_id}/complete", headers=HX,
                        data={"from": "record"}).get_data(as_text=True)
    assert f'href="/acme/records/{other_id}">Next record on your worklist' in panel


def test_an_email_sent_from_the_composer_drives_the_email_condition(world):
    from saas.engine.events import on_message_event

    with world.data():
        template_id = f.email_template().id
    record_id, enrollment_id, run_id = _connect(world, [
        {"type": "email", "name": "Intro", "config": {"template_id": template_id}},
        {"type": "email_condition", "name": "Opened?",
         "config": {"events": ["opened"], "match": "any", "limit_days": 2, "limit_hours": 0,
                    "move_on_event": True},
         "yes": [{"type": "call", "name": "Call while it is warm"}],
         "no": [{"type": "task", "name": "Try another angle"}]}])
    client = world.client_for(world.seller)
    panel = client.post(f"/acme/activities/{run_id}/send", headers=HX, data={
        "from": "record", "subject": "Hi", "body": "Hello"}).get_data(as_text=True)
    assert "Waiting for what happens" in panel
    with world.data():
        assert on_message_event(run_id, "opened", clock.now()) == "decided"
    panel = client.get(f"/acme/records/{record_id}/upnext").get_data(as_text=True)
    assert "Call while it is warm" in panel and "Try another angle" not in panel


def test_without_a_sequences_licence_the_panel_says_so(app, make_tenant, make_user, login,
                                                      add_records):
    tenant = make_tenant("nolic", licence="none")
    seller = make_user(tenant, roles=[Role.SELLER])
    record_id = add_records(tenant, 1)[0]
    client = app.test_client()
    login(client, seller)
    page = client.get(f"/nolic/records/{record_id}").get_data(as_text=True)
    assert "Sequences are not available here yet" in page
    assert client.get("/nolic/worklist").status_code == 403


def test_a_failed_automated_email_shows_its_reason_in_the_history(world):
    """A record with no email address: the automated email fails, the sequence goes on to the
    task, and the record's history says why it was not sent."""
    from saas.engine.tick import run_tick

    record_id, enrollment_id, _ = _connect(world, [
        {"type": "auto_email", "name": "Welcome email"},
        {"type": "task", "name": "Research the company"}], email=None)
    with world.app.app_context():
        run_tick(budget_seconds=5)
    assert [r[:2] for r in _runs(world, enrollment_id)] == [("auto_email", "failed"),
                                                            ("task", "open")]
    html = world.client_for(world.seller).get(f"/acme/records/{record_id}").get_data(
        as_text=True)
    done = html.split("<h4 class=\"un-subhead\">Done</h4>", 1)[1]
    assert "Welcome email" in done and "Failed" in done
    assert re.search(r"no (email address|template)", done)


def test_a_manual_email_footer_speaks_the_recipient_language_not_the_seller(world):
    with world.data():
        template_id = f.email_template().id
    _, _, run_id = _connect(world, [
        {"type": "email", "name": "Intro", "config": {"template_id": template_id}}],
        email="lea@exemple.fr", language="fr")
    client = world.client_for(world.seller)  # the seller's pages are in English
    client.post(f"/acme/activities/{run_id}/send", data={
        "from": "record", "subject": "Bonjour", "body": "Bonjour Léa"})
    with world.data() as session:
        message = session.execute(select(OutboxMessage)).scalar_one()
        assert ">Se désabonner</a>" in message.html_body
        assert "Se désabonner\u00a0: " in message.text_body
        assert "Unsubscribe" not in message.text_body
