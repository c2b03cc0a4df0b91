"""A template's versions in other languages (issue 19): added, edited, previewed and deleted from
the template's page, validated like the template, one per language, hidden from the list and the
step's picker as separate entries, and chosen per record by `version_for`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.auth.models import Role
from saas.extensions import db
from saas.sequences.models import Sequence, Step
from saas.templates_ import services
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context


@pytest.fixture
def manager(make_tenant, make_user):
    tenant = make_tenant("acme", name="Acme Corp")
    return make_user(tenant, roles=[Role.SEQUENCE_MANAGER], name="Sam Seller",
                     email="sam@acme.example")


@pytest.fixture
def mclient(client, manager, login):
    assert login(client, manager).status_code == 302
    return client


def _email(**overrides):
    data = {"name": "Trade show intro", "language": "en",
            "subject": "Thanks for visiting, {{ record.first_name }}",
            "html_body": "<p>Hello {{ record.first_name }}</p>", "text_body": ""}
    data.update(overrides)
    return data


def _french(**overrides):
    data = {"language": "fr", "subject": "Merci de votre visite, {{ record.first_name }}",
            "html_body": "<p>Bonjour {{ record.first_name }}</p>", "text_body": ""}
    data.update(overrides)
    return data


def _new_template(mclient, **overrides) -> int:
    response = mclient.post("/acme/templates/new?kind=email", data=_email(**overrides))
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _rows(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return [(t.id, t.name, t.language, t.translation_of_id, t.subject) for t in
                db.session.execute(select(MessageTemplate).order_by(MessageTemplate.id))
                .scalars()]


def test_add_edit_preview_and_delete_a_version(app, mclient, manager, add_records):
    template_id = _new_template(mclient)
    page = mclient.get(f"/acme/templates/{template_id}").text
    assert "Add a version in…" in page
    assert '<option value="fr">Français</option>' in page
    assert '<option value="en">English</option>' not in page.split('id="add-version"')[1]

    form = mclient.get(f"/acme/templates/{template_id}/versions/new?language=fr").text
    assert "New version of “Trade show intro”" in form
    assert 'name="name"' not in form  # a version is known by its template's name
    assert "Thanks for visiting" in form  # prefilled with the template's content to translate
    assert re.search(r'<option selected value="fr">|<option value="fr" selected>', form)

    added = mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french())
    assert added.status_code == 302
    version_id = int(added.headers["Location"].rsplit("/", 1)[1])
    assert _rows(app, manager.tenant.id) == [
        (template_id, "Trade show intro", "en", None,
         "Thanks for visiting, {{ record.first_name }}"),
        (version_id, "Trade show intro", "fr", template_id,
         "Merci de votre visite, {{ record.first_name }}")]
    shown = mclient.get(added.headers["Location"]).text
    assert "The Français version of “Trade show intro” is saved." in shown
    assert "Trade show intro · Français" in shown

    listed = mclient.get(f"/acme/templates/{template_id}").text
    assert f'href="/acme/templates/{version_id}"' in listed and "Français" in listed
    assert '<option value="fr">' not in listed.split('id="add-version"')[1]

    edited = mclient.post(f"/acme/templates/{version_id}",
                          data=_french(subject="Ravi de vous avoir vu"))
    assert edited.status_code == 302
    assert _rows(app, manager.tenant.id)[1][4] == "Ravi de vous avoir vu"

    [rid] = add_records(manager.tenant, 1, first_name="Zoé")
    preview = mclient.get(f"/acme/templates/{version_id}/preview?record_id={rid}").text
    assert "Bonjour Zoé" in preview and "Hello Zoé" not in preview

    confirm = mclient.get(f"/acme/templates/{version_id}/delete").text
    assert "Delete “Trade show intro · Français”?" in confirm
    done = mclient.post(f"/acme/templates/{version_id}/delete", follow_redirects=True)
    assert "The Français version of “Trade show intro” is deleted." in done.text
    assert [r[0] for r in _rows(app, manager.tenant.id)] == [template_id]


def test_a_version_is_validated_like_its_template(app, mclient, manager):
    template_id = _new_template(mclient)
    bad = mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french(
        subject="", html_body="<p>Bonjour</p>\n<p>{{ record.surnom }}</p>"))
    assert bad.status_code == 422
    assert "An email needs a subject." in bad.text
    assert "Line 2: unknown field “record.surnom”" in bad.text
    heavy = mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french(
        html_body="{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}"
                  "{% endfor %}"))
    assert heavy.status_code == 422
    assert "more than 10,000 times in one message" in heavy.text
    assert len(_rows(app, manager.tenant.id)) == 1


def test_a_language_already_used_is_refused_with_the_fields_message(app, mclient, manager):
    template_id = _new_template(mclient)
    assert mclient.post(f"/acme/templates/{template_id}/versions/new",
                        data=_french()).status_code == 302
    again = mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french())
    assert again.status_code == 422
    message = "There is already a version in Français: edit that one, or choose another language."
    assert 'id="language-error"' in again.text and message in again.text
    own = mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french(language="en"))
    assert own.status_code == 422 and "There is already a version in English" in own.text
    # The template itself cannot take the language of one of its versions either.
    main = mclient.post(f"/acme/templates/{template_id}", data=_email(language="fr"))
    assert main.status_code == 422 and message in main.text
    assert len(_rows(app, manager.tenant.id)) == 2


def test_versions_are_not_separate_templates(app, mclient, manager):
    template_id = _new_template(mclient)
    mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french())
    mclient.post("/acme/templates/new?kind=sms",
                 data={"name": "Reminder", "language": "de", "body": "Hallo"})
    index = mclient.get("/acme/templates").text.split('id="templates"')[1]
    assert index.count(">Trade show intro</a>") == 1
    assert "English, Français" in index and "Deutsch" in index
    with app.app_context(), tenant_context(manager.tenant.id):
        assert services.picker_choices("email") == [
            (template_id, "Trade show intro · English, Français")]
        [(sms_id, label)] = services.picker_choices("sms")
        assert label == "Reminder · Deutsch"


def test_the_step_picker_shows_the_languages(app, mclient, manager, make_user, login, client):
    template_id = _new_template(mclient)
    mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french())
    with app.app_context(), tenant_context(manager.tenant.id):
        sequence = Sequence(name="Trade show follow-up", record_type="lead", status="draft",
                            version=1, settings={})
        db.session.add(sequence)
        db.session.flush()
        sequence.lineage_id = sequence.id
        step = Step(sequence_id=sequence.id, branch="main", position=0, type="auto_email",
                    name="Intro", config={"template_id": template_id})
        db.session.add(step)
        db.session.commit()
        sequence_id, step_id = sequence.id, step.id
    page = mclient.get(f"/acme/sequences/{sequence_id}?step={step_id}").text
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>',
                         page.split('id="f-template_id"')[1].split("</select>")[0])
    assert options == [(str(template_id), "Trade show intro · English, Français")]


def test_deleting_the_template_deletes_its_versions(app, mclient, manager):
    template_id = _new_template(mclient)
    mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french())
    mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french(language="de"))
    confirm = mclient.get(f"/acme/templates/{template_id}/delete").text
    assert "Its 2 versions (Français, Deutsch) are deleted with it." in confirm
    done = mclient.post(f"/acme/templates/{template_id}/delete", follow_redirects=True)
    assert "The template “Trade show intro” is deleted." in done.text
    assert _rows(app, manager.tenant.id) == []


def test_the_in_use_guard_still_applies(app, mclient, manager, monkeypatch):
    monkeypatch.setattr(services, "template_in_use",
                        lambda template_id: "Used by the active sequence “Onboarding”.")
    template_id = _new_template(mclient)
    mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french())
    done = mclient.post(f"/acme/templates/{template_id}/delete", follow_redirects=True)
    assert "Used by the active sequence “Onboarding”." in done.text
    assert len(_rows(app, manager.tenant.id)) == 2


def test_renaming_the_template_renames_its_versions(app, mclient, manager):
    template_id = _new_template(mclient)
    mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french())
    mclient.post(f"/acme/templates/{template_id}", data=_email(name="Salon intro"))
    assert [r[1] for r in _rows(app, manager.tenant.id)] == ["Salon intro", "Salon intro"]


def test_version_for_picks_the_record_language_then_the_workspace(app, manager):
    with app.app_context(), tenant_context(manager.tenant.id):
        main = MessageTemplate(kind="sms", name="Hi", language="en", body="Hello")
        db.session.add(main)
        db.session.flush()
        french = MessageTemplate(kind="sms", name="Hi", language="fr", body="Bonjour",
                                 translation_of_id=main.id)
        german = MessageTemplate(kind="sms", name="Hi", language="de", body="Hallo",
                                 translation_of_id=main.id)
        db.session.add_all([french, german])
        db.session.flush()
        assert services.version_for(main, "fr", "en") is french
        assert services.version_for(main, "fr-CA", "en") is french
        assert services.version_for(main, "en", "fr") is main
        assert services.version_for(main, None, "de") is german
        assert services.version_for(main, "it", "de") is german
        assert services.version_for(main, "it", "es") is main
        assert services.version_for(main, None, None) is main
        assert services.version_for(None, "fr", "en") is None
        db.session.rollback()


def test_another_tenants_template_gets_no_version(app, mclient, manager, make_tenant,
                                                  make_user, login):
    template_id = _new_template(mclient)
    added = mclient.post(f"/acme/templates/{template_id}/versions/new", data=_french())
    version_id = int(added.headers["Location"].rsplit("/", 1)[1])
    other = make_tenant("other")
    stranger = make_user(other, roles=[Role.SEQUENCE_MANAGER])
    client = app.test_client()
    login(client, stranger)
    assert client.get(f"/other/templates/{template_id}/versions/new").status_code == 404
    assert client.post(f"/other/templates/{template_id}/versions/new",
                       data=_french(language="de")).status_code == 404
    for path in (f"/other/templates/{version_id}", f"/other/templates/{version_id}/preview",
                 f"/other/templates/{version_id}/delete"):
        assert client.get(path).status_code == 404
    assert client.post(f"/other/templates/{version_id}/delete").status_code == 404
    assert len(_rows(app, manager.tenant.id)) == 2
