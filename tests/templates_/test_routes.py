"""Templates through the pages a sequence manager uses: list, create, edit, preview, delete."""

from __future__ import annotations

import pytest

from saas.auth.models import Role
from saas.extensions import db
from saas.records.custom_fields import add_custom_field
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
    data = {"name": "Welcome", "language": "en", "subject": "Hi {{ record.first_name }}",
            "html_body": "<p>Hello {{ record.first_name }} from {{ tenant.name }}</p>",
            "text_body": ""}
    data.update(overrides)
    return data


def _templates(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return [(t.kind, t.name, t.subject, t.body) for t in
                db.session.execute(db.select(MessageTemplate)).scalars()]


def test_list_empty_state_and_kind_filter(app, mclient, manager):
    page = mclient.get("/acme/templates")
    assert page.status_code == 200
    assert "No templates yet." in page.text
    assert 'href="/acme/templates"' in page.text  # the nav link
    mclient.post("/acme/templates/new?kind=email", data=_email())
    mclient.post("/acme/templates/new?kind=sms",
                 data={"name": "Reminder", "language": "fr", "body": "Salut"})
    both = mclient.get("/acme/templates").text
    assert "Welcome" in both and "Reminder" in both
    sms = mclient.get("/acme/templates?kind=sms").text
    assert "Reminder" in sms and "Welcome" not in sms
    assert "Welcome" in mclient.get("/acme/templates?kind=email").text


def test_a_seller_is_refused(client, make_tenant, make_user, login):
    tenant = make_tenant("acme")
    seller = make_user(tenant, roles=[Role.SELLER])
    login(client, seller)
    assert client.get("/acme/templates").status_code == 403


def test_create_and_edit_email(app, mclient, manager):
    response = mclient.post("/acme/templates/new?kind=email", data=_email())
    assert response.status_code == 302
    [(kind, name, subject, _)] = _templates(app, manager.tenant.id)
    assert (kind, name, subject) == ("email", "Welcome", "Hi {{ record.first_name }}")
    edit_url = response.headers["Location"]
    page = mclient.get(edit_url)
    assert "Hi {{ record.first_name }}" in page.text and "Merge fields" in page.text
    assert mclient.post(edit_url, data=_email(name="Welcome v2")).status_code == 302
    assert _templates(app, manager.tenant.id)[0][1] == "Welcome v2"


def test_unknown_field_and_syntax_error_shown_with_line(app, mclient, manager):
    response = mclient.post("/acme/templates/new?kind=email", data=_email(
        html_body="<p>Hello</p>\n<p>{{ record.nickname }}</p>",
        subject="Hi {% if record.first_name %}"))
    assert response.status_code == 422
    assert "Line 2: unknown field “record.nickname”" in response.text
    assert "Line 1: Unexpected end of template" in response.text
    assert _templates(app, manager.tenant.id) == []


def test_escape_attempt_refused(app, mclient, manager):
    response = mclient.post("/acme/templates/new?kind=sms", data={
        "name": "Evil", "language": "en", "body": "Hi\n{{ ''.__class__.__mro__ }}"})
    assert response.status_code == 422
    assert "Line 2:" in response.text
    assert _templates(app, manager.tenant.id) == []


def test_custom_field_merge_and_required_fields(app, mclient, manager):
    with app.app_context(), tenant_context(manager.tenant.id):
        add_custom_field(record_type="lead", label="Tier", kind="text")
        db.session.commit()
    ok = mclient.post("/acme/templates/new?kind=sms", data={
        "name": "Tiered", "language": "en", "body": "Your tier: {{ record.custom.tier }}"})
    assert ok.status_code == 302
    missing = mclient.post("/acme/templates/new?kind=email", data={"name": "x", "language": "en"})
    assert missing.status_code == 422
    assert "An email needs a subject." in missing.text
    assert "An email needs an HTML body." in missing.text


def test_sms_editor_shows_count_and_loads_counter_script(mclient):
    response = mclient.post("/acme/templates/new?kind=sms",
                            data={"name": "Long", "language": "en", "body": "a" * 161})
    page = mclient.get(response.headers["Location"]).text
    assert "161 characters · 2 SMS parts · GSM-7 (153 per part)" in page
    assert 'src="/static/js/sms-counter.js"' in page
    assert "<script>" not in page  # no inline script: the CSP forbids it


def test_preview_against_a_record(app, mclient, manager, add_records):
    with app.app_context(), tenant_context(manager.tenant.id):
        add_custom_field(record_type="lead", label="Tier", kind="text")
        db.session.commit()
    [rid] = add_records(manager.tenant, 1, first_name="Zoë", company="Globex",
                        custom={"tier": "gold"})
    add_records(manager.tenant, 3, start=None, email=lambda i: f"other{i}@x.example")
    response = mclient.post("/acme/templates/new?kind=email", data=_email(
        subject="Hello {{ record.first_name }} ({{ record.custom.tier }})",
        html_body='<p onclick="x()">Hi {{ record.first_name }} at {{ record.company }}</p>'
                  '<script>alert(1)</script><p>{{ seller.name }}, {{ tenant.name }}</p>'))
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = mclient.get(f"/acme/templates/{template_id}/preview?record_id={rid}").text
    assert "Hello Zoë (gold)" in page
    assert "<p>Hi Zoë at Globex</p>" in page
    assert "alert(1)" not in page and "onclick" not in page
    assert "Hi Zoë at Globex" in page and "(generated from the HTML)" in page
    assert ", Acme Corp" in page
    found = mclient.get(f"/acme/templates/{template_id}/preview?q=globex").text
    assert "Zoë" in found


def test_preview_sms_counts_parts(app, mclient, manager, add_records):
    [rid] = add_records(manager.tenant, 1, first_name="Łukasz")
    response = mclient.post("/acme/templates/new?kind=sms", data={
        "name": "Hi", "language": "pl", "body": "Cześć {{ record.first_name }}"})
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = mclient.get(f"/acme/templates/{template_id}/preview?record_id={rid}").text
    assert "Cześć Łukasz" in page
    assert "12 characters · 1 SMS part · UCS-2" in page


def test_delete_asks_then_deletes(app, mclient, manager):
    response = mclient.post("/acme/templates/new?kind=sms",
                            data={"name": "Bye", "language": "en", "body": "Bye"})
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    confirm = mclient.get(f"/acme/templates/{template_id}/delete")
    assert "Delete “Bye”?" in confirm.text
    assert _templates(app, manager.tenant.id)  # GET changed nothing
    done = mclient.post(f"/acme/templates/{template_id}/delete", follow_redirects=True)
    assert "The template “Bye” is deleted." in done.text
    assert _templates(app, manager.tenant.id) == []


def test_a_template_in_use_is_not_deleted(app, mclient, manager, monkeypatch):
    monkeypatch.setattr(services, "template_in_use",
                        lambda template_id: "Used by the active sequence “Onboarding”.")
    response = mclient.post("/acme/templates/new?kind=sms",
                            data={"name": "Kept", "language": "en", "body": "Hi"})
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    confirm = mclient.get(f"/acme/templates/{template_id}/delete").text
    assert "Used by the active sequence “Onboarding”." in confirm
    done = mclient.post(f"/acme/templates/{template_id}/delete", follow_redirects=True)
    assert "Used by the active sequence" in done.text
    assert _templates(app, manager.tenant.id)


def test_nothing_is_in_use_while_no_sequence_is_active(app, manager):
    with app.app_context(), tenant_context(manager.tenant.id):
        assert services.template_in_use(1) is None


def test_preview_refuses_another_tenants_record(mclient, manager, make_tenant, add_records):
    other = make_tenant("other")
    [foreign] = add_records(other, 1, first_name="Secret")
    response = mclient.post("/acme/templates/new?kind=sms",
                            data={"name": "Hi", "language": "en",
                                  "body": "{{ record.first_name }}"})
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = mclient.get(f"/acme/templates/{template_id}/preview?record_id={foreign}")
    assert page.status_code == 404
    assert "Secret" not in mclient.get(f"/acme/templates/{template_id}/preview?q=secret").text


def test_new_pages_show_the_fields_of_their_kind(mclient):
    email = mclient.get("/acme/templates/new?kind=email").text
    assert 'name="subject"' in email and 'name="html_body"' in email
    assert 'name="body"' not in email
    sms = mclient.get("/acme/templates/new?kind=sms").text
    assert 'name="body"' in sms and 'name="subject"' not in sms
    assert "0 characters · 0 SMS parts" in sms
    assert mclient.get("/acme/templates/new?kind=fax").status_code == 404
