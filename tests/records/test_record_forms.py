import re

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.records.models import Record
from saas.tenancy import tenant_context

GOOD = {"first_name": "Ana", "last_name": "Lima", "company": "Fabrikam",
        "email": "Ana.Lima@Fabrikam.example", "phone": "06 12 34 56 78", "country": "FR",
        "lead_source": "Trade show", "status": "new", "time_zone": "Europe/Paris"}


def errors_of(response) -> list[str]:
    return re.findall(r'class="error" id="[^"]+">([^<]*)<', response.get_data(as_text=True))


def test_create_a_lead(app, manager_client, manager):
    response = manager_client.post("/acme/leads/new", data=GOOD)
    assert response.status_code == 302
    page = manager_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ana Lima" in page and "+33612345678" in page and "France" in page
    with app.app_context(), tenant_context(manager.tenant.id):
        lead = db.session.execute(select(Record)).scalar_one()
        assert lead.email == "ana.lima@fabrikam.example"
        assert lead.phone == "+33612345678"
        assert lead.record_type == "lead" and lead.lead_source == "Trade show"


@pytest.mark.parametrize("changes, message", [
    ({"email": "ana@"}, "is not a valid email address"),
    ({"email": "ana lima@example.com"}, "is not a valid email address"),
    ({"phone": "0612345678", "country": ""}, "add the country code"),
    ({"phone": "+33 12"}, "is not a valid phone number"),
    ({"phone": "call me"}, "is not a phone number"),
    ({"time_zone": "Europe/Atlantis"}, "is not an IANA time zone"),
    ({"first_name": "", "last_name": ""}, "Enter a first or last name."),
    ({"lead_source": "Carrier pigeon"}, "is not one of: Trade show, Web"),
    ({"status": "won"}, "is not one of: New, Contacted"),
    ({"country": "Atlantis"}, "is not a country."),
    ({"company": "x" * 201}, "Use at most 200 characters."),
    ({"owner_id": "999999"}, "is not an active user"),
])
def test_each_validation_failure_is_shown_next_to_its_field(app, manager_client, manager,
                                                             changes, message):
    response = manager_client.post("/acme/leads/new", data={**GOOD, **changes})
    assert response.status_code == 422
    assert any(message in e for e in errors_of(response)), errors_of(response)
    with app.app_context(), tenant_context(manager.tenant.id):
        assert db.session.execute(select(Record)).first() is None


def test_opportunity_fields_are_validated(manager_client):
    response = manager_client.post("/acme/opportunities/new", data={
        "last_name": "Deal", "estimated_value": "lots", "close_date": "31/12/2026",
        "stage": "negotiate"})
    errors = errors_of(response)
    assert any("“lots” is not a number." in e for e in errors)
    assert any("is not a date; use YYYY-MM-DD." in e for e in errors)
    assert any("“negotiate” is not one of" in e for e in errors)


def test_an_email_is_used_once_per_record_type(manager_client):
    assert manager_client.post("/acme/leads/new", data=GOOD).status_code == 302
    again = manager_client.post("/acme/leads/new",
                                data={**GOOD, "email": "ana.lima@fabrikam.example"})
    assert "Another lead already has this email." in errors_of(again)
    # An opportunity may carry the same email.
    opp = manager_client.post("/acme/opportunities/new", data={**GOOD, "status": "open"})
    assert opp.status_code == 302


def test_opportunities_only_when_the_workspace_enabled_them(app, make_tenant, make_user, login):
    from saas.auth.models import Role

    tenant = make_tenant("leadsonly", opportunities=False)
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    client = app.test_client()
    login(client, user)
    assert client.get("/leadsonly/opportunities").status_code == 404
    assert client.post("/leadsonly/opportunities/new", data=GOOD).status_code == 404
    assert b"Opportunities" not in client.get("/leadsonly/leads").data


def test_edit_and_delete(app, manager_client, manager):
    created = manager_client.post("/acme/leads/new", data=GOOD)
    record_id = int(created.headers["Location"].rsplit("/", 1)[1])
    edit = manager_client.get(f"/acme/records/{record_id}/edit").get_data(as_text=True)
    assert 'value="Ana"' in edit and 'value="+33612345678"' in edit
    saved = manager_client.post(f"/acme/records/{record_id}/edit",
                                data={**GOOD, "status": "qualified", "phone": "+33612345678"})
    assert saved.status_code == 302
    assert "Qualified" in manager_client.get(f"/acme/records/{record_id}").get_data(as_text=True)

    assert manager_client.get(f"/acme/records/{record_id}/delete").status_code == 405
    page = manager_client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert 'data-confirm="Delete Ana Lima? This cannot be undone."' in page
    deleted = manager_client.post(f"/acme/records/{record_id}/delete")
    assert deleted.headers["Location"] == "/acme/leads"
    assert manager_client.get(f"/acme/records/{record_id}").status_code == 404


def test_custom_fields_on_the_form(app, manager, make_user, login):
    from saas.auth.models import Role

    admin = make_user(manager.tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    client = app.test_client()
    login(client, admin)
    client.post("/acme/settings/fields", data={"record_type": "lead", "label": "Employees",
                                               "kind": "number"})
    client.post("/acme/settings/fields", data={"record_type": "lead", "label": "Tier",
                                               "kind": "choice", "choices": "Gold\nSilver"})
    bad = client.post("/acme/leads/new", data={**GOOD, "custom.employees": "many",
                                               "custom.tier": "Bronze"})
    assert "“many” is not a number." in errors_of(bad)
    assert any("“Bronze” is not one of: Gold, Silver." in e for e in errors_of(bad))
    good = client.post("/acme/leads/new", data={**GOOD, "custom.employees": "250",
                                                "custom.tier": "gold"})
    assert good.status_code == 302
    with app.app_context(), tenant_context(manager.tenant.id):
        lead = db.session.execute(select(Record)).scalar_one()
        assert lead.custom == {"employees": 250.0, "tier": "Gold"}
    page = client.get(good.headers["Location"]).get_data(as_text=True)
    assert "Employees" in page and "Gold" in page


def test_custom_field_needs_a_unique_label_and_choices(app, manager, make_user, login):
    from saas.auth.models import Role

    admin = make_user(manager.tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    client = app.test_client()
    login(client, admin)
    taken = client.post("/acme/settings/fields", data={"record_type": "lead", "label": "Email",
                                                       "kind": "text"})
    assert "A field called “Email” already exists." in taken.get_data(as_text=True)
    no_choices = client.post("/acme/settings/fields", data={
        "record_type": "lead", "label": "Tier", "kind": "choice", "choices": ""})
    assert "List the choices" in no_choices.get_data(as_text=True)
