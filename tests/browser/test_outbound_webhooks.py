"""An administrator subscribes a receiver to the sequences' events in Settings > Webhooks,
sends it a test event, reads the delivery and its attempt, and replays it."""

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from saas.auth.models import Role
from saas.outbound import delivery
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.outbound.conftest import Receiver

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver():
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def deliver(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        delivery.deliver_due(budget=5)


def test_an_admin_subscribes_sends_a_test_event_and_replays_it(app, live_server, page,
                                                              make_tenant, make_user, receiver):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], email="ada@contoso.example",
              name="Ada Admin")
    sign_in(page, live_server, "contoso", "ada@contoso.example")
    page.goto(f"{live_server}/contoso/settings")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("No webhook yet")).to_be_visible()
    page.get_by_role("link", name="Add a webhook").first.click()

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("Our CRM")
    page.get_by_label("A record completes a sequence").check()
    page.get_by_label("A reply comes in").check()
    page.get_by_role("button", name="Add the webhook").click()

    expect(page.get_by_role("heading", name="The webhook is added")).to_be_visible()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("link", name="Done").click()
    row = page.locator("#webhooks tbody tr")
    expect(row).to_contain_text(receiver.url)
    expect(row).to_contain_text("2 events")
    expect(row).to_contain_text("None yet")

    row.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_text("A test event is on its way")).to_be_visible()
    deliver(app, tenant.id)
    page.reload()
    first = page.locator("#deliveries tbody tr").first
    expect(first).to_contain_text("webhook.test")
    expect(first).to_contain_text("Delivered")
    first.get_by_text("1 attempt").click()
    expect(first).to_contain_text("HTTP 200")

    first.get_by_role("button", name="Replay").click()
    expect(page.get_by_text("The event is sent again as a new delivery.")).to_be_visible()
    deliver(app, tenant.id)
    page.reload()
    expect(page.locator("#deliveries tbody tr")).to_have_count(2)
    expect(page.locator("#deliveries tbody tr").first).to_contain_text("Delivered")

    one, two = (Webhook(secret).verify(r.body, r.headers) for r in receiver.requests)
    assert one == two and one["type"] == "webhook.test"
