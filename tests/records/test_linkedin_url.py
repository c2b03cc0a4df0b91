"""A record's LinkedIn address: accepted and normalised, refused with a message next to the field
(never a 500), shown as a link that opens LinkedIn in a new tab, filterable like text."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.records.linkedin import LinkedInUrlError, clean_linkedin_url
from saas.records.models import Record
from saas.tenancy import tenant_context
from tests.records.test_record_forms import GOOD, errors_of

NOT_LINKEDIN = "is not a LinkedIn address"
NOT_A_PAGE = "is not a LinkedIn profile or company page"


@pytest.mark.parametrize("typed, stored", [
    ("https://www.linkedin.com/in/jane-doe", "https://www.linkedin.com/in/jane-doe"),
    ("https://www.linkedin.com/in/jane-doe/", "https://www.linkedin.com/in/jane-doe"),
    ("http://www.linkedin.com/in/jane-doe", "https://www.linkedin.com/in/jane-doe"),
    ("linkedin.com/in/jane-doe", "https://linkedin.com/in/jane-doe"),
    ("  www.linkedin.com/in/jane-doe  ", "https://www.linkedin.com/in/jane-doe"),
    ("https://WWW.LinkedIn.COM/in/Jane-Doe", "https://www.linkedin.com/in/Jane-Doe"),
    ("https://fr.linkedin.com/in/jean-dupont?originalSubdomain=fr",
     "https://fr.linkedin.com/in/jean-dupont"),
    ("https://www.linkedin.com/in/jane-doe?utm_source=share&utm_medium=member_ios#top",
     "https://www.linkedin.com/in/jane-doe"),
    ("https://www.linkedin.com/in/jane-doe/details/experience/",
     "https://www.linkedin.com/in/jane-doe"),
    ("https://www.linkedin.com/company/fabrikam/", "https://www.linkedin.com/company/fabrikam"),
    ("https://www.linkedin.com/company/fabrikam/jobs/?trk=x",
     "https://www.linkedin.com/company/fabrikam"),
    ("https://www.linkedin.com/pub/jane-doe/12/345/678",
     "https://www.linkedin.com/pub/jane-doe/12/345/678"),
    ("https://fr.linkedin.com/in/jean-françois", "https://fr.linkedin.com/in/jean-fran%C3%A7ois"),
    ("https://fr.linkedin.com/in/jean-fran%c3%a7ois", "https://fr.linkedin.com/in/jean-fran%C3%A7ois"),
])
def test_good_addresses_are_stored_in_one_form(app, typed, stored):
    with app.test_request_context():
        assert clean_linkedin_url(typed) == stored


@pytest.mark.parametrize("typed, message", [
    ("12345678901234567890", NOT_LINKEDIN),
    ("jane\x00doe", "cannot contain spaces or control characters"),
    ("https://www.linkedin.com/in/jane\x00doe", "cannot contain spaces or control characters"),
    ("https://www.linkedin.com/in/jane doe", "cannot contain spaces or control characters"),
    ("https://evil.example/in/jane-doe", NOT_LINKEDIN),
    ("https://linkedin.com.evil.example/in/jane-doe", NOT_LINKEDIN),
    ("https://notlinkedin.com/in/jane-doe", NOT_LINKEDIN),
    ("https://www.linkedin.com@evil.example/in/jane-doe", NOT_LINKEDIN),
    ("https://www.linkedin.com:8443/in/jane-doe", NOT_LINKEDIN),
    ("https://www.linkedin.com:99999999999999999999/in/jane-doe", NOT_LINKEDIN),
    ("https://media.linkedin.com/in/jane-doe", NOT_LINKEDIN),
    ("javascript:alert(1)//www.linkedin.com/in/x", NOT_LINKEDIN),
    ("ftp://www.linkedin.com/in/jane-doe", NOT_LINKEDIN),
    ("https://[www.linkedin.com/in/jane-doe", NOT_LINKEDIN),
    ("https:\\\\www.linkedin.com\\in\\jane", "cannot contain spaces or control characters"),
    ("https://www.linkedin.com/", NOT_A_PAGE),
    ("https://www.linkedin.com/feed/", NOT_A_PAGE),
    ("https://www.linkedin.com/in/", NOT_A_PAGE),
    ("https://www.linkedin.com/in/..", NOT_A_PAGE),
    ("https://www.linkedin.com/in/<script>", NOT_A_PAGE),
    ("https://www.linkedin.com/in/" + "a" * 280, "Use at most 300 characters."),
    ("x" * 100_000, "Use at most 300 characters."),
])
def test_bad_addresses_are_refused_with_a_reason(app, typed, message):
    with app.test_request_context(), pytest.raises(LinkedInUrlError) as refused:
        clean_linkedin_url(typed)
    assert message in str(refused.value)


def test_a_lead_saved_with_a_linkedin_address_links_to_it(app, manager_client, manager):
    response = manager_client.post("/acme/leads/new", data={
        **GOOD, "linkedin_url": "fr.linkedin.com/in/ana-lima/?trk=public_profile"})
    assert response.status_code == 302
    page = manager_client.get(response.headers["Location"]).get_data(as_text=True)
    assert ('<a href="https://fr.linkedin.com/in/ana-lima" target="_blank" '
            'rel="noopener noreferrer">') in page
    with app.app_context(), tenant_context(manager.tenant.id):
        lead = db.session.execute(select(Record)).scalar_one()
        assert lead.linkedin_url == "https://fr.linkedin.com/in/ana-lima"
    listing = manager_client.get("/acme/leads").get_data(as_text=True)
    assert 'class="linkedin-link" href="https://fr.linkedin.com/in/ana-lima" target="_blank"' \
        in listing


@pytest.mark.parametrize("typed, message", [
    ("12345678901234567890", NOT_LINKEDIN),
    ("ana\x00lima", NOT_LINKEDIN),  # the form's input boundary drops the NUL byte
    ("https://www.linkedin.com/feed/", NOT_A_PAGE),
    ("https://twitter.com/ana", NOT_LINKEDIN),
])
def test_a_bad_address_is_shown_next_to_the_field(app, manager_client, manager, typed, message):
    response = manager_client.post("/acme/leads/new", data={**GOOD, "linkedin_url": typed})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="field-linkedin_url-error"' in html
    assert any(message in e for e in errors_of(response)), errors_of(response)
    with app.app_context(), tenant_context(manager.tenant.id):
        assert db.session.execute(select(Record)).first() is None


def test_an_opportunity_has_the_field_and_edit_clears_it(app, manager_client, manager):
    response = manager_client.post("/acme/opportunities/new", data={
        "last_name": "Deal", "linkedin_url": "https://www.linkedin.com/company/fabrikam"})
    assert response.status_code == 302
    with app.app_context(), tenant_context(manager.tenant.id):
        deal = db.session.execute(select(Record)).scalar_one()
        assert deal.linkedin_url == "https://www.linkedin.com/company/fabrikam"
        deal_id = deal.id
    form = manager_client.get(f"/acme/records/{deal_id}/edit").get_data(as_text=True)
    assert 'name="linkedin_url" value="https://www.linkedin.com/company/fabrikam"' in form
    assert 'type="url"' in form
    edited = manager_client.post(f"/acme/records/{deal_id}/edit",
                                 data={"last_name": "Deal", "linkedin_url": ""})
    assert edited.status_code == 302
    with app.app_context(), tenant_context(manager.tenant.id):
        assert db.session.get(Record, deal_id).linkedin_url is None


def test_the_list_filters_on_the_linkedin_address(app, manager_client):
    for name, url in (("Ana", "https://www.linkedin.com/in/ana"), ("Ben", "")):
        manager_client.post("/acme/leads/new", data={**GOOD, "first_name": name,
                                                     "email": f"{name}@x.example",
                                                     "linkedin_url": url})
    page = manager_client.get("/acme/leads?f=linkedin_url&op=is_empty&v=").get_data(as_text=True)
    assert ">Ben Lima<" in page and ">Ana Lima<" not in page
