"""The rule editor: choosing a field asks for its row again (htmx), and the row comes back with
that field's operators and value control (a list of choices, a date, a number); without
JavaScript the row's Update button does the same for the whole page."""

from __future__ import annotations

import re

import pytest

from saas.auth.models import Role

HTMX = {"HX-Request": "true"}


@pytest.fixture
def mclient(client, make_tenant, make_user, login):
    tenant = make_tenant("acme", name="Acme", opportunities=True)
    login(client, make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@acme.example"))
    return client


def _form(field, operator="equals", value="", record_type="lead", action="refresh:r.0"):
    return {"name": "Draft", "record_type": record_type, "priority": "0", "description": "",
            "g-r-op": "and", "c-r.0-field": field, "c-r.0-operator": operator,
            "c-r.0-value": value, "action": action}


def _operators(html: str) -> list[str]:
    select = re.search(r'<select name="c-r.0-operator".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]+)"', select)


def test_the_field_select_asks_for_its_row_on_change(mclient):
    html = mclient.get("/acme/segments/new").get_data(as_text=True)
    select = re.search(r'<select name="c-r.0-field"[^>]*>', html).group(0)
    assert 'hx-post=""' in select and 'hx-trigger="change"' in select
    assert 'hx-target="#rule-r-0"' in select and "refresh:r.0" in select
    assert '<noscript><button type="submit" name="action" value="refresh:r.0"' in html


def test_choosing_a_choice_field_brings_a_list_of_its_choices(mclient):
    answer = mclient.post("/acme/segments/new", data=_form("lead_source", value="nonsense"),
                          headers=HTMX)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert html.lstrip().startswith('<div class="rule" id="rule-r-0">')
    assert "<form" not in html  # the row alone
    value = re.search(r'<select name="c-r.0-value".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', value) == [
        "", "Trade show", "Web", "Referral", "Advertisement", "Partner", "Other"]
    assert "selected" not in value  # a value that is not a choice is dropped
    assert _operators(html) == ["equals", "not_equals", "in_list", "is_empty", "is_not_empty"]


def test_a_date_field_gets_a_date_input_and_its_own_operators(mclient):
    html = mclient.post("/acme/segments/new", data=_form("created_at", operator="equals"),
                        headers=HTMX).get_data(as_text=True)
    assert _operators(html)[:3] == ["on", "before", "after"]
    assert re.search(r'<option value="on" selected>', html)  # "equals" does not apply: the first
    assert re.search(r'<input type="date" name="c-r.0-value"', html)
    html = mclient.post("/acme/segments/new", data=_form("created_at", operator="in_last_days"),
                        headers=HTMX).get_data(as_text=True)
    assert re.search(r'<input type="number" step="1" min="1" name="c-r.0-value"', html)


def test_a_number_field_gets_a_number_input(mclient):
    html = mclient.post("/acme/segments/new",
                        data=_form("estimated_value", operator="gt", value="5000",
                                   record_type="opportunity"),
                        headers=HTMX).get_data(as_text=True)
    assert re.search(r'<input type="number" step="any"\s+name="c-r.0-value"[^>]*value="5000"',
                     html)


def test_a_text_field_keeps_a_text_input_and_empty_needs_no_value(mclient):
    html = mclient.post("/acme/segments/new", data=_form("company", operator="contains",
                                                         value="Acme"),
                        headers=HTMX).get_data(as_text=True)
    assert re.search(r'<input name="c-r.0-value"[^>]*value="Acme"', html)
    html = mclient.post("/acme/segments/new", data=_form("company", operator="is_empty"),
                        headers=HTMX).get_data(as_text=True)
    assert 'name="c-r.0-value"' not in html


def test_without_javascript_update_shows_the_whole_page_with_the_fitted_row(mclient):
    answer = mclient.post("/acme/segments/new", data=_form("lead_source"))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="segment-editor"' in html and "<html" in html
    assert re.search(r'<select name="c-r.0-value"', html)
    assert 'value="Draft"' in html  # nothing else was lost, nothing saved
    assert "is saved" not in html


def test_a_refresh_of_a_path_that_is_no_row_shows_the_editor(mclient):
    html = mclient.post("/acme/segments/new", data=_form("lead_source", action="refresh:r.7"),
                        headers=HTMX).get_data(as_text=True)
    assert 'id="segment-editor"' in html
