"""An administrator makes an API key in Settings, copies it from the page that shows it once,
uses it, and revokes it after confirming; the key is refused from then on."""

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from tests.browser.test_records import sign_in

pytestmark = pytest.mark.browser


def test_an_admin_makes_uses_and_revokes_a_key(live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], email="ada@contoso.example",
              name="Ada Admin")
    sign_in(page, live_server, "contoso", "ada@contoso.example")
    page.goto(f"{live_server}/contoso/settings/")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    expect(page.get_by_text("No keys yet. Make one below for each tool that uses the API."
                            )).to_be_visible()

    page.get_by_role("button", name="Make key").click()  # no name: told next to the field
    expect(page.get_by_text("Give the key a name, e.g. “Website form”.")).to_be_visible()

    page.get_by_label("Name").fill("Website form")
    page.get_by_label("What it may do").select_option(label="Sequence manager")
    page.get_by_role("button", name="Make key").click()
    expect(page.get_by_text("The key “Website form” is made. Copy it now: it is not shown "
                            "again.")).to_be_visible()
    token = page.get_by_label("API key").input_value()
    assert token.startswith("sq_")
    row = page.locator("#keys tbody tr", has_text="Website form")
    expect(row).to_contain_text("Sequence manager")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(token[:10])

    headers = {"Authorization": f"Bearer {token}"}
    created = page.request.post(f"{live_server}/api/v1/contoso/records", headers=headers,
                                data={"type": "lead", "last_name": "Lima",
                                      "email": "ana@example.com"})
    assert created.status == 201, created.text()

    page.reload()  # the key is not shown again, and its use is noted
    expect(page.get_by_label("API key")).to_have_count(0)
    expect(row).not_to_contain_text("Never used")

    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("The key “Website form” is revoked: requests with it are refused "
                            "from now on.")).to_be_visible()
    assert questions == ["Revoke “Website form”? Requests with this key are refused from now "
                         "on; this cannot be undone."]
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    refused = page.request.get(f"{live_server}/api/v1/contoso/records", headers=headers)
    assert refused.status == 401
    assert refused.json()["detail"] == "This API key was revoked."
