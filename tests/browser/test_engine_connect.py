"""A sequence manager connects "Trade show follow-up" to the "Trade show leads" segment (a
background job with a progress bar), assigns a seller to the lead nobody owns, connects one more
lead from its record page, and sees every connected record with its current step."""

import pytest
from playwright.sync_api import expect
from rq import Queue

from saas.auth.models import Role
from saas.engine.connect import connect_many
from saas.extensions import db
from saas.segments import services as segment_services
from saas.segments.models import Segment
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.engine.factories import build_sequence
from worker.runner import AppWorker

pytestmark = pytest.mark.browser

TRADE_SHOW = {"op": "and", "rules": [{"field": "lead_source", "operator": "equals",
                                      "value": "Trade show"}]}


def test_connect_a_segment_and_a_lead_then_assign_a_seller(app, live_server, page, make_tenant,
                                                           make_user, add_records, redis_conn):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    add_records(tenant, 2, lead_source="Trade show", owner_id=sam.id,
                first_name=lambda i: ["Ana", "Ben"][i], last_name=lambda i: ["Lima", "Ode"][i])
    add_records(tenant, 1, lead_source="Trade show", owner_id=None, first_name="Cleo",
                last_name="Nobody", email="cleo@example.com")
    (wendy,) = add_records(tenant, 1, lead_source="Web", owner_id=sam.id, first_name="Wendy",
                           last_name="Web", email="wendy@example.com")
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([{"type": "call", "name": "Intro call"},
                                   {"type": "wait", "config": {"days": 2, "hours": 0}},
                                   {"type": "email", "name": "Follow-up email"}],
                                  name="Trade show follow-up")
        segment = Segment(name="Trade show leads", record_type="lead", rules=TRADE_SHOW)
        db.session.add(segment)
        db.session.commit()
        segment_services.activate(segment)
        sequence_id = sequence.id
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.goto(f"{live_server}/contoso/sequences/{sequence_id}/connected")
    expect(page.get_by_text("No records connected yet.")).to_be_visible()
    page.get_by_label("Segment to connect").select_option(label="Trade show leads (3)")
    page.get_by_role("button", name="Connect segment").click()
    expect(page.get_by_text("Connecting the 3 members of “Trade show leads”")).to_be_visible()
    expect(page.get_by_label("Connect progress")).to_be_visible()
    # The worker picks the job up; the progress bar (htmx polling) shows the result.
    AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    expect(page.get_by_text("Connected 3 of 3.")).to_be_visible()
    # Without a reload, the tab shows what the job did: records, counts, who waits for a seller,
    # and a segment picker without the segment now connected.
    rows = page.locator("#connected-records tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_role("link", name="All (3)")).to_be_visible()
    expect(page.get_by_role("link", name="Needs a seller (1)")).to_be_visible()
    expect(page.get_by_text("1 connected record waits for a seller.")).to_be_visible()
    expect(page.get_by_text("No records connected yet.")).to_have_count(0)
    expect(page.get_by_label("Segment to connect")).to_have_count(0)
    expect(page.get_by_text("Every active segment of this record type is connected.")
           ).to_be_visible()
    cleo = rows.filter(has_text="Cleo Nobody")
    expect(cleo).to_contain_text("—")  # no step before a seller is assigned
    cleo.get_by_label("Seller for Cleo Nobody").select_option(label="Sam Seller")
    cleo.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("Seller assigned; the sequence has started.")).to_be_visible()
    expect(page.get_by_text("waits for a seller")).to_have_count(0)
    expect(rows.filter(has_text="Cleo Nobody")).to_contain_text("Sam Seller")
    expect(rows.filter(has_text="Cleo Nobody")).to_contain_text("Intro call")

    page.goto(f"{live_server}/contoso/records/{wendy}")
    sequences = page.locator("#record-sequences")
    expect(sequences).to_contain_text("Not connected to any sequence yet.")
    sequences.get_by_label("Connect sequence").select_option(label="Trade show follow-up")
    sequences.get_by_role("button", name="Connect sequence").click()
    expect(page.get_by_text("Connected to “Trade show follow-up”.")).to_be_visible()
    expect(page.locator("#record-sequences")).to_contain_text("Current step: Intro call")

    page.goto(f"{live_server}/contoso/sequences/{sequence_id}/connected")
    rows = page.locator("#connected-records tbody tr")
    expect(rows).to_have_count(4)
    for name in ("Ana Lima", "Ben Ode", "Cleo Nobody", "Wendy Web"):
        row = rows.filter(has_text=name)
        expect(row).to_contain_text("Intro call")
        expect(row).to_contain_text("Active")
        expect(row).to_contain_text("Sam Seller")


def test_deleting_a_connected_lead_keeps_it_in_the_history_as_exited(
        app, live_server, page, make_tenant, make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    ana, ben = add_records(tenant, 2, owner_id=sam.id, first_name=lambda i: ["Ana", "Ben"][i],
                           last_name=lambda i: ["Lima", "Ode"][i])
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([{"type": "call", "name": "Intro call"}],
                                  name="Trade show follow-up")
        connect_many([ana, ben], sequence.lineage_id)
        db.session.commit()
        sequence_id = sequence.id
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.goto(f"{live_server}/contoso/records/{ana}")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Ana Lima is deleted.")).to_be_visible()
    assert asked == ["Delete Ana Lima? It leaves the sequence it runs in, whose history keeps "
                     "it as exited. This cannot be undone."]

    page.goto(f"{live_server}/contoso/sequences/{sequence_id}/connected")
    rows = page.locator("#connected-records tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Ben Ode")).to_contain_text("Active")
    gone = rows.filter(has_text="Deleted record")
    expect(gone).to_contain_text("Exited")
    expect(gone).to_contain_text("record deleted")
    expect(page.get_by_role("link", name="All (2)")).to_be_visible()
    page.get_by_role("link", name="Exited (1)").click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Deleted record")


def test_connect_a_list_selection_then_delete_one(app, live_server, page, make_tenant,
                                                   make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    add_records(tenant, 3, owner_id=sam.id, first_name=lambda i: ["Ana", "Ben", "Cy"][i],
                last_name=lambda i: ["Lima", "Ode", "Roe"][i])
    with app.app_context(), tenant_context(tenant.id):
        sequence_id = build_sequence([{"type": "call", "name": "Intro call"}],
                                     name="Trade show follow-up").id
        db.session.commit()
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.goto(f"{live_server}/contoso/leads")
    sequence_choice = page.get_by_label("Sequence to connect")
    expect(page.get_by_label("New owner")).to_be_visible()
    expect(sequence_choice).to_be_hidden()  # only the current action's choice shows
    page.get_by_label("Select Ana Lima").check()
    page.get_by_label("Select Ben Ode").check()
    page.get_by_label("With selected:").select_option(label="Connect to sequence…")
    expect(page.get_by_label("New owner")).to_be_hidden()
    sequence_choice.select_option(label="Trade show follow-up")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("2 connected to “Trade show follow-up”.")).to_be_visible()

    page.get_by_label("Select Ana Lima").check()
    page.get_by_label("With selected:").select_option(label="Delete")
    expect(sequence_choice).to_be_hidden()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("One record deleted.")).to_be_visible()
    assert "Those running in sequences leave them" in asked[0]

    page.goto(f"{live_server}/contoso/sequences/{sequence_id}/connected")
    rows = page.locator("#connected-records tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Ben Ode")).to_contain_text("Intro call")
    expect(rows.filter(has_text="Deleted record")).to_contain_text("record deleted")


def test_pause_disconnect_and_find_connected_records(app, live_server, page, make_tenant,
                                                     make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    ids = add_records(tenant, 3, owner_id=sam.id, first_name=lambda i: ["Ana", "Ben", "Cy"][i],
                      last_name=lambda i: ["Lima", "Ode", "Roe"][i])
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([{"type": "call", "name": "Intro call"}],
                                  name="Trade show follow-up")
        connect_many(ids, sequence.lineage_id)
        db.session.commit()
        sequence_id = sequence.id
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.goto(f"{live_server}/contoso/sequences/{sequence_id}/connected")
    page.get_by_label("Select all on this page").check()
    expect(page.get_by_label("Select Cy Roe")).to_be_checked()
    page.get_by_label("With selected:").select_option(label="Pause")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("3 records paused.")).to_be_visible()
    expect(page.get_by_role("link", name="Paused (3)")).to_be_visible()

    page.get_by_label("Select Ben Ode").check()
    page.get_by_label("With selected:").select_option(label="Disconnect")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("One record disconnected.")).to_be_visible()
    assert asked == ["Disconnect the selected records? Their remaining steps will not run."]
    rows = page.locator("#connected-records tbody tr")
    expect(rows.filter(has_text="Ben Ode")).to_contain_text("Disconnected")
    expect(rows.filter(has_text="Ana Lima")).to_contain_text("Paused")

    page.get_by_label("Find a record").fill("roe")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Cy Roe")
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(3)
