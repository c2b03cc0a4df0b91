"""With nothing configured, an automated email lands in the outbox; an administrator reads it,
follows its unsubscribe link like the recipient would, and finds the address suppressed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.messaging import builders

pytestmark = pytest.mark.browser


def test_outbox_message_unsubscribe_and_suppression_list(app, live_server, page, make_tenant,
                                                         make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], email="ada@contoso.example")
    with app.app_context(), tenant_context(tenant.id):
        template = builders.email_template(subject="Welcome, {{ record.first_name }}")
        seq = builders.sequence([
            {"type": "auto_email", "config": {"template_id": template.id}},
            {"type": "task", "name": "Call"}])
        builders.connect([builders.lead("lea.lead@example.com", first_name="Lea")], seq)
        db.session.commit()
    saved = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = live_server  # the links in the message point at this server
    try:
        with app.app_context():
            assert run_tick(budget_seconds=30)["sends"] == 1
    finally:
        app.config["PUBLIC_URL"] = saved

    sign_in(page, live_server, "contoso", "ada@contoso.example")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Outbox").click()
    outbox = page.locator("#outbox")
    expect(outbox).to_contain_text("lea.lead@example.com")
    outbox.get_by_role("link", name="Welcome, Lea").click()
    expect(page.get_by_role("heading", name="Welcome, Lea")).to_be_visible()
    expect(page.get_by_text("List-Unsubscribe-Post")).to_be_visible()

    page.get_by_role("link", name=re.compile(r"contoso.t.u.")).first.click()
    expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    expect(page.get_by_text("lea.lead@example.com")).to_be_visible()
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()

    page.goto(f"{live_server}/contoso/settings/outbox")
    page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="Suppression list").click()
    row = page.locator("#suppressions tr", has_text="lea.lead@example.com")
    expect(row).to_contain_text("Unsubscribed")
    expect(row).to_contain_text("Email")
