"""A sequence's analytics over the API: the figures of its page."""

from __future__ import annotations

import pytest

from tests.api.world import make_world


@pytest.fixture
def world(app, admin, make_user, add_records, api_for):
    return make_world(app, admin, make_user, add_records, api_for)


def test_the_figures_of_the_analytics_page(world):
    [first, second] = world.connect(2, world.sam)
    world.as_sam.post(f"/activities/{world.open_run(first)}/complete")
    world.manager.post(f"/enrollments/{second}/disconnect")
    figures = world.reader.get(f"/sequences/{world.sequence_id}/analytics?fresh=true")
    assert figures.status_code == 200, figures.get_json()
    data = figures.get_json()
    assert data["period"] == "all" and data["version"] == 1
    records = data["records"]
    assert (records["connected"], records["active"], records["disconnected"]) == (2, 1, 1)
    assert records["goal_reached"] is None and records["median_days"] is None
    steps = {s["name"]: s for s in data["steps"]}
    assert list(steps) == ["Research", "Call", "Wrap up"]
    assert (steps["Research"]["reached"], steps["Research"]["completed"]) == (2, 1)
    assert steps["Call"]["reached"] == 1
    assert data["ab_tests"] == [] and len(data["timeline"]) == 90
    week = world.manager.get(f"/sequences/{world.sequence_id}/analytics?period=7").get_json()
    assert week["period"] == "7" and len(week["timeline"]) == 8


def test_bad_periods_unknown_sequences_and_sellers_are_refused(world):
    base = f"/sequences/{world.sequence_id}/analytics"
    bad = world.manager.get(f"{base}?period=14")
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "period"
    assert world.manager.get(f"{base}?version=abc").status_code == 400
    assert world.manager.get(f"{base}?version=7").status_code == 200  # the default version
    assert world.manager.get("/sequences/999999/analytics").status_code == 404
    assert world.as_sam.get(base).status_code == 403
