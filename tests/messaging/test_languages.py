"""Each record receives the template's version in its language (issue 19): one sequence with an
automated email whose template is written in English with a French version, sent by the tick
through the real SendGrid client to the local fake. The footer added to the email and the
unsubscribe page speak the record's language, else the workspace's."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from saas.auth.models import Tenant
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.records.models import Record
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from tests.messaging import builders

# No {{ unsubscribe_url }} in the bodies: the footer with the unsubscribe link is added.
ENGLISH = {"subject": "Thanks for visiting, {{ record.first_name }}",
           "html_body": "<p>Hello {{ record.first_name }}, here is our brochure.</p>"}
FRENCH = {"subject": "Merci de votre visite, {{ record.first_name }}",
          "html_body": "<p>Bonjour {{ record.first_name }}, voici notre brochure.</p>"}


@pytest.fixture
def trade_show(app, sendgrid_tenant):
    """A French-speaking workspace, one sequence, three leads: French, English, no language."""
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == sendgrid_tenant.id)
                           .values(language="fr"))
        db.session.commit()
        with tenant_context(sendgrid_tenant.id):
            template = MessageTemplate(kind="email", name="Trade show intro", language="en",
                                       text_body="", **ENGLISH)
            db.session.add(template)
            db.session.flush()
            db.session.add(MessageTemplate(kind="email", name="Trade show intro", language="fr",
                                           text_body="", translation_of_id=template.id,
                                           **FRENCH))
            seq = builders.sequence([
                {"type": "auto_email", "name": "Intro", "config": {"template_id": template.id}},
                {"type": "task", "name": "Call them"}], name="Suivi du salon commercial")
            leads = {}
            for language, first, email in (("fr", "Amélie", "amelie@example.com"),
                                           ("en", "Brian", "brian@example.com"),
                                           (None, "Chloé", "chloe@example.com")):
                lead = builders.lead(email, first_name=first)
                lead.language = language
                leads[language] = lead.email
            db.session.flush()
            builders.connect(list(_records()), seq)
            db.session.commit()
    return leads


def _records():
    return db.session.execute(select(Record).order_by(Record.id)).scalars()


def _sent(fake) -> dict[str, dict]:
    """{address: {subject, html, text, unsubscribe}} of what the fake SendGrid accepted."""
    out = {}
    for email in fake.emails():
        body = email["body"]
        content = {c["type"]: c["value"] for c in body["content"]}
        out[email["to"][0]] = {
            "subject": body["subject"], "html": content["text/html"],
            "text": content["text/plain"],
            "unsubscribe": body["headers"]["List-Unsubscribe"].strip("<>")}
    return out


def test_each_record_receives_the_version_in_its_language(app, trade_show, fake):
    with app.app_context():
        run_tick(budget_seconds=30)
    sent = _sent(fake)
    assert sorted(sent) == ["amelie@example.com", "brian@example.com", "chloe@example.com"]

    french = sent[trade_show["fr"]]
    assert french["subject"] == "Merci de votre visite, Amélie"
    assert "Bonjour Amélie, voici notre brochure." in french["html"]
    assert "Bonjour Amélie, voici notre brochure." in french["text"]
    assert "Hello" not in french["html"] and "Thanks" not in french["subject"]
    assert ">Se désabonner</a>" in french["html"] and "Unsubscribe" not in french["html"]
    assert f"Se désabonner\u00a0: {french['unsubscribe']}" in french["text"]

    english = sent[trade_show["en"]]
    assert english["subject"] == "Thanks for visiting, Brian"
    assert "Hello Brian, here is our brochure." in english["html"]
    assert ">Unsubscribe</a>" in english["html"] and "désabonner" not in english["html"]
    assert f"Unsubscribe: {english['unsubscribe']}" in english["text"]

    # No language of its own: the workspace's (French) version and footer.
    unset = sent[trade_show[None]]
    assert unset["subject"] == "Merci de votre visite, Chloé"
    assert "Bonjour Chloé" in unset["html"] and ">Se désabonner</a>" in unset["html"]


def test_the_unsubscribe_page_speaks_the_records_language(app, trade_show, fake):
    with app.app_context():
        run_tick(budget_seconds=30)
    sent = _sent(fake)
    client = app.test_client()

    def path(address):
        url = urlsplit(sent[address]["unsubscribe"])
        return f"{url.path}?{url.query}"

    french = path(trade_show["fr"])
    # The recipient's language wins over the browser's.
    page = client.get(french, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Arrêter tous les messages de Mail Co" in page
    assert "Stop all messages" not in page
    done = client.post(french).get_data(as_text=True)
    assert "Vous êtes désabonné" in done and "ne recevra plus de messages de Mail Co" in done
    assert "You are unsubscribed" not in done

    english = client.get(path(trade_show["en"]), headers={"Accept-Language": "fr"})
    assert "Stop all messages from Mail Co" in english.get_data(as_text=True)

    unset = client.get(path(trade_show[None])).get_data(as_text=True)
    assert "Arrêter tous les messages de Mail Co" in unset


def test_the_manual_composer_is_prefilled_with_the_records_version(app, sendgrid_tenant):
    """A manual email step (Up next) picks the same version as an automated one would."""
    from saas.engine.models import StepRun
    from saas.sequences.models import Step
    from saas.worklist import upnext

    with app.app_context():
        with tenant_context(sendgrid_tenant.id):
            template = MessageTemplate(kind="email", name="Trade show intro", language="en",
                                       text_body="", **ENGLISH)
            db.session.add(template)
            db.session.flush()
            db.session.add(MessageTemplate(kind="email", name="Trade show intro", language="fr",
                                           text_body="", translation_of_id=template.id,
                                           **FRENCH))
            seq = builders.sequence([{"type": "email", "name": "Intro",
                                      "config": {"template_id": template.id}}])
            french = builders.lead("amelie@example.com", first_name="Amélie")
            french.language = "fr"
            english = builders.lead("brian@example.com", first_name="Brian")
            english.language = "en"
            builders.connect([french, english], seq)
            db.session.commit()
            drafts = {}
            for run in db.session.execute(select(StepRun).where(
                    StepRun.status == "open")).scalars():
                step = db.session.execute(select(Step).where(Step.id == run.step_id)).scalar_one()
                record = db.session.execute(select(Record).where(
                    Record.id == run.record_id)).scalar_one()
                drafts[record.email] = upnext.draft_for(run, step, record)
    assert drafts["amelie@example.com"].subject == "Merci de votre visite, Amélie"
    assert "Bonjour Amélie" in drafts["amelie@example.com"].body
    assert drafts["brian@example.com"].subject == "Thanks for visiting, Brian"


def test_each_record_receives_the_text_in_its_language(app, twilio_tenant, fake):
    """The same for an automated text through the real Twilio client: one sequence, a French,
    an English and a language-less record of a French-speaking workspace."""
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == twilio_tenant.id)
                           .values(language="fr"))
        db.session.commit()
        with tenant_context(twilio_tenant.id):
            template = MessageTemplate(kind="sms", name="Trade show reminder", language="en",
                                       body="Hi {{ record.first_name }}, see you at our stand!")
            db.session.add(template)
            db.session.flush()
            db.session.add(MessageTemplate(
                kind="sms", name="Trade show reminder", language="fr",
                translation_of_id=template.id,
                body="Bonjour {{ record.first_name }}, à bientôt sur notre stand !"))
            seq = builders.sequence([{"type": "auto_sms", "name": "Reminder",
                                      "config": {"template_id": template.id}}])
            records = []
            for language, first, phone in (("fr", "Amélie", "+33611111111"),
                                           ("en", "Brian", "+447700900123"),
                                           (None, "Chloé", "+33622222222")):
                lead = builders.lead(f"{first.lower()}@example.com", phone=phone,
                                     first_name=first)
                lead.language = language
                records.append(lead)
            db.session.flush()
            builders.connect(records, seq)
            db.session.commit()
        run_tick(budget_seconds=30)
    bodies = {text["form"]["To"]: text["form"]["Body"] for text in fake.texts()}
    assert bodies == {"+33611111111": "Bonjour Amélie, à bientôt sur notre stand !",
                      "+447700900123": "Hi Brian, see you at our stand!",
                      "+33622222222": "Bonjour Chloé, à bientôt sur notre stand !"}
