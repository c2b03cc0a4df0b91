"""The designer reads as a flow (issue 18): a connector line from tile to tile with the "+" on
it, a condition splitting into its Yes and No columns that join again at End, a "+" on a
branch's line adding the step in that branch, "Fit to screen" bringing a wide sequence within a
1280 px window, and a 390 px phone scrolling the flow inside its box, never the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.engine.factories import build_sequence, step_named

pytestmark = pytest.mark.browser

OPENED = {"events": ["opened"], "match": "any", "limit_days": 3, "limit_hours": 0,
          "move_on_event": True}
CALLED = {"outcomes": ["connected"]}
PAGE_FITS = "document.documentElement.scrollWidth <= window.innerWidth"
SCROLLS = "(el) => el.scrollWidth > el.clientWidth + 1"


def _draft(app, tenant, specs, name):
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence(specs, name=name, status="draft")
        db.session.commit()
        ids = {s: step_named(sequence, s).id for s in _names(specs)}
        return sequence.id, ids


def _names(specs):
    for spec in specs:
        yield spec["name"]
        for sub in ("yes", "no"):
            yield from _names(spec.get(sub, []))


def _box(locator):
    box = locator.bounding_box()
    assert box is not None, locator
    return box


def _centre(box):
    return box["x"] + box["width"] / 2


def _manager(make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    return tenant


def test_a_condition_splits_into_yes_and_no_columns_that_join_at_end(
        app, live_server, page, make_tenant, make_user):
    tenant = _manager(make_tenant, make_user)
    sid, ids = _draft(app, tenant, [
        {"type": "task", "name": "Send brochure"},
        {"type": "email_condition", "name": "Opened the brochure?", "config": OPENED,
         "yes": [{"type": "call", "name": "Call while it is fresh"}]},
    ], "Brochure follow-up")
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/sequences/{sid}")

    brochure = _box(page.locator(f"#step-{ids['Send brochure']}"))
    condition = _box(page.locator(f"#step-{ids['Opened the brochure?']}"))
    # The "+" sits on the line between the two tiles, centred under the first one.
    plus = _box(page.get_by_role("link", name="Add a step after “Send brochure”"))
    assert brochure["y"] + brochure["height"] <= plus["y"]
    assert plus["y"] + plus["height"] <= condition["y"]
    assert abs(_centre(plus) - _centre(brochure)) < 2
    assert plus["width"] >= 24 and plus["height"] >= 24

    # Two columns side by side under the condition, each labelled on its line.
    yes = page.locator(f"#branch-{ids['Opened the brochure?']}-yes")
    no = page.locator(f"#branch-{ids['Opened the brochure?']}-no")
    expect(yes.locator(".branch-label")).to_have_text("Yes")
    expect(no.locator(".branch-label")).to_have_text("No")
    expect(yes.locator(".tile-name")).to_have_text(["Call while it is fresh"])
    expect(no.locator(".tile")).to_have_count(0)
    yes_box, no_box = _box(yes), _box(no)
    assert abs(yes_box["y"] - no_box["y"]) < 2
    assert yes_box["x"] + yes_box["width"] <= no_box["x"] + 1
    assert yes_box["y"] >= condition["y"] + condition["height"]
    # They join below at End, the one terminal node, centred under the condition.
    end = page.locator(".canvas .tile-end")
    expect(end).to_have_count(1)
    end_box = _box(end)
    assert end_box["y"] >= max(yes_box["y"] + yes_box["height"], no_box["y"] + no_box["height"])
    assert abs(_centre(end_box) - _centre(condition)) < 2
    assert abs(_centre(end_box) - (yes_box["x"] + yes_box["width"] + no_box["x"]) / 2) < 2
    names = page.locator(".canvas .tile-name").all_inner_texts()
    assert names == ["Start", "Send brochure", "Opened the brochure?", "Call while it is fresh",
                     "End"]

    # The "+" on the No branch's line adds the step in that branch.
    page.get_by_role("link", name="Add a step to the No branch of “Opened the brochure?”").click()
    pane = page.locator("#pane")
    expect(pane.get_by_role("heading", name="Add a step")).to_be_visible()
    pane.get_by_role("button", name="Task").click()
    pane.get_by_label("Name").fill("Send the case study")
    pane.get_by_role("button", name="Save and close").click()
    expect(no.locator(".tile-name")).to_have_text(["Send the case study"])
    expect(yes.locator(".tile-name")).to_have_text(["Call while it is fresh"])
    # the new tile is on the No column's line
    assert abs(_centre(_box(no.locator(".tile"))) - _centre(_box(no))) < 2


def _wide(app, tenant):
    def task(name):
        return {"type": "task", "name": name}
    return _draft(app, tenant, [
        task("Send brochure"),
        {"type": "email_condition", "name": "Opened?", "config": OPENED, "yes": [
            {"type": "call_condition", "name": "Reached?", "config": CALLED,
             "yes": [task("Book the demo")], "no": [task("Leave a voicemail")]},
        ], "no": [
            {"type": "email_condition", "name": "Clicked?", "config": OPENED,
             "yes": [task("Send the price list")], "no": [task("Ask a colleague")]},
        ]},
    ], "Wide follow-up")


def test_fit_to_screen_brings_a_wide_sequence_within_the_window(
        app, live_server, page, make_tenant, make_user):
    tenant = _manager(make_tenant, make_user)
    sid, ids = _wide(app, tenant)
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/sequences/{sid}")
    page.wait_for_load_state()
    canvas = page.locator("#canvas")
    assert canvas.evaluate(SCROLLS)  # four columns: wider than the canvas at 100 %
    assert page.evaluate(PAGE_FITS)  # but only the canvas scrolls

    fit = page.get_by_role("button", name="Fit to screen")
    expect(fit).to_have_attribute("aria-pressed", "false")
    fit.click()
    expect(fit).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#flowchart")).to_have_class(re.compile(r"\bzoom-(75|50)\b"))
    assert not canvas.evaluate(SCROLLS)
    right = _box(canvas)["x"] + _box(canvas)["width"]
    for name in ("Leave a voicemail", "Ask a colleague"):
        assert _box(page.locator(f"#step-{ids[name]}"))["x"] + 1 < right
    assert page.evaluate(PAGE_FITS)
    plus = _box(page.get_by_role("link", name="Add a step after “Send brochure”"))
    assert plus["width"] >= 24 and plus["height"] >= 24  # still a finger's target

    # The view stays fitted while the manager works: open a tile, the flow is swapped in again.
    page.locator(".tile-main", has_text="Book the demo").click()
    expect(page.locator("#pane").get_by_label("Name")).to_have_value("Book the demo")
    expect(page.get_by_role("button", name="Fit to screen")).to_have_attribute(
        "aria-pressed", "true")
    assert not canvas.evaluate(SCROLLS)

    page.get_by_role("button", name="Fit to screen").click()  # back to 100 %
    expect(page.get_by_role("button", name="Fit to screen")).to_have_attribute(
        "aria-pressed", "false")
    expect(page.locator("#flowchart")).to_have_class("flowchart")
    assert canvas.evaluate(SCROLLS)


def test_on_a_phone_the_flow_scrolls_inside_its_box(app, live_server, page, make_tenant,
                                                    make_user):
    tenant = _manager(make_tenant, make_user)
    sid, ids = _wide(app, tenant)
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/contoso/sequences/{sid}")
    page.wait_for_load_state()
    canvas = page.locator("#canvas")
    assert page.evaluate(PAGE_FITS)
    assert canvas.evaluate(SCROLLS)
    expect(canvas).to_have_attribute("tabindex", "0")  # arrows scroll it from the keyboard
    # the "+" of a column far to the right is reached by the keyboard and scrolled into view
    plus = page.get_by_role("link", name="Add a step to the No branch of “Clicked?”")
    plus.focus()
    expect(plus).to_be_in_viewport()
    assert page.evaluate(PAGE_FITS)
    page.get_by_role("button", name="Fit to screen").click()
    assert page.evaluate(PAGE_FITS)
