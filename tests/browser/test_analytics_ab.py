"""A sequence manager reads a running A/B test's results: the periodic job has found a winner
(badge, figures, chart), and they stop a second test by hand, choosing the version to send."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.engine import abtests
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.analytics.history import ab_config, ab_sends, add_step, make_sequence
from tests.browser.test_records import sign_in

pytestmark = pytest.mark.browser


def test_winner_badge_ab_panel_and_stopping_a_test(app, live_server, page, make_tenant,
                                                   make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    first, second = add_records(tenant, 700), add_records(tenant, 300, email=lambda i: (
        f"other{i}@contoso.example"))
    with app.app_context(), tenant_context(tenant.id):
        sequence = make_sequence("Trade show follow-up")
        subject = add_step(sequence, "ab_test", "Subject test", position=0,
                           config=ab_config(display_name="Subject lines"))
        cta = add_step(sequence, "ab_test", "CTA test", position=1,
                       config=ab_config(display_name="Call to action", metric="opens"))
        abtests.start_tests(sequence.id)
        ab_sends(subject, first, {"A": 9, "B": 55})
        ab_sends(cta, second, {"A": 30, "B": 33}, kind="open")
        db.session.commit()
        sequence_id = sequence.id
        abtests.evaluate_all_tenants()  # what the periodic job does
        db.session.commit()

    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    page.get_by_role("link", name="Trade show follow-up").click()
    expect(page.get_by_role("heading", name="A/B tests")).to_be_visible()

    subject_panel = page.locator("article.ab-panel", has_text="Subject lines")
    expect(subject_panel.get_by_text("Clear winner")).to_be_visible()
    expect(subject_panel.locator('tr[data-version="B"]')).to_contain_text("Winner")
    expect(subject_panel.locator('tr[data-version="A"]')).not_to_contain_text("Winner")
    expect(subject_panel.locator('tr[data-version="B"] td').nth(2)).to_have_text("55")
    expect(subject_panel).to_contain_text("Version B won on")
    expect(subject_panel.get_by_role("img", name="A/B click rates with intervals")).to_be_visible()
    expect(subject_panel.get_by_role("button", name="Stop the test")).to_have_count(0)

    cta_panel = page.locator("article.ab-panel", has_text="Call to action")
    expect(cta_panel.locator(".badge-ab-running")).to_have_text("Running")
    expect(cta_panel.locator('tr[data-version="A"] td').nth(2)).to_have_text("30")
    cta_panel.get_by_role("radio", name="Version B").check()
    page.once("dialog", lambda dialog: dialog.accept())
    cta_panel.get_by_role("button", name="Stop the test").click()
    expect(page.get_by_text("The A/B test is stopped: version B is sent from now on.")) \
        .to_be_visible()
    cta_panel = page.locator("article.ab-panel", has_text="Call to action")
    expect(cta_panel.get_by_text("Stopped by a person")).to_be_visible()
    expect(cta_panel).to_contain_text("version B is sent from now on")

    expect(page.get_by_role("img", name="Funnel of the steps")).to_be_visible()
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute(
        "href", f"/contoso/analytics/sequences/{sequence_id}/export.csv?period=all&version=1")
