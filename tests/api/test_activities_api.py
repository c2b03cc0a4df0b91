"""A seller's activities over the API: the worklist, complete (a call with its outcome), skip,
snooze; another seller's are a 404, done ones a 409, bad input a 422 naming the field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saas.timeutil import utcnow
from tests.api.world import make_world

PROBLEM = "application/problem+json"


@pytest.fixture
def world(app, admin, make_user, add_records, api_for):
    return make_world(app, admin, make_user, add_records, api_for)


def test_each_seller_reads_their_own_list_and_managers_pick_one(world):
    world.connect(3, world.sam)
    world.connect(1, world.sue)
    mine = world.as_sam.get("/activities").get_json()
    assert len(mine["data"]) == 3 and mine["next_cursor"] is None
    first = mine["data"][0]
    assert first["type"] == "task" and first["name"] == "Research"
    assert first["sequence_name"] == "Follow-up" and first["overdue"] is False
    assert len(world.as_sue.get("/activities").get_json()["data"]) == 1
    paged = world.as_sam.get("/activities?limit=2").get_json()
    rest = world.as_sam.get(f"/activities?limit=2&after={paged['next_cursor']}").get_json()
    assert len(paged["data"]) == 2 and len(rest["data"]) == 1
    assert {a["id"] for a in paged["data"] + rest["data"]} == {a["id"] for a in mine["data"]}
    picked = world.manager.get(f"/activities?seller_id={world.sue.id}").get_json()["data"]
    assert len(picked) == 1
    assert world.manager.get("/activities").get_json()["data"] == []  # the admin has none
    refused = world.as_sam.get(f"/activities?seller_id={world.sue.id}")
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    unknown = world.manager.get("/activities?seller_id=424242")
    assert unknown.status_code == 400
    assert unknown.get_json()["errors"][0]["field"] == "seller_id"
    assert world.as_sam.get("/activities?when=later").status_code == 400
    assert world.as_sam.get(f"/activities?type=call&sequence_id={world.sequence_id}") \
        .get_json()["data"] == []


def test_complete_a_task_then_log_the_call_with_its_outcome(world):
    [enrollment] = world.connect(1, world.sam)
    task = world.open_run(enrollment)
    done = world.as_sam.post(f"/activities/{task}/complete")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["activity"]["status"] == "completed"
    assert done.get_json()["message"] == "The record moves on to its next step."
    again = world.as_sam.post(f"/activities/{task}/complete")
    assert again.status_code == 409 and again.mimetype == PROBLEM

    call = world.open_run(enrollment)
    no_outcome = world.as_sam.post(f"/activities/{call}/complete", {"notes": "x"})
    assert no_outcome.status_code == 422
    assert no_outcome.get_json()["errors"][0]["field"] == "/outcome"
    bad = world.as_sam.post(f"/activities/{call}/complete", {"outcome": "maybe"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "/outcome"
    logged = world.as_sam.post(f"/activities/{call}/complete",
                               {"outcome": "left_voicemail", "notes": "Call back Monday"})
    assert logged.status_code == 200, logged.get_json()
    assert logged.get_json()["activity"]["outcome"] == "left_voicemail"
    last = world.open_run(enrollment)
    assert world.as_sam.post(f"/activities/{last}/complete",
                             {"outcome": "connected"}).status_code == 422
    finished = world.as_sam.post(f"/activities/{last}/complete")
    assert finished.get_json()["enrollment_status"] == "completed"
    assert "last step" in finished.get_json()["message"]


def test_skip_and_snooze(world):
    [enrollment] = world.connect(1, world.sam)
    task = world.open_run(enrollment)
    past = world.as_sam.post(f"/activities/{task}/snooze",
                             {"until": (utcnow() - timedelta(hours=1)).isoformat()})
    assert past.status_code == 422 and past.get_json()["errors"][0]["field"] == "/until"
    garbled = world.as_sam.post(f"/activities/{task}/snooze", {"until": "tomorrow"})
    assert garbled.status_code == 422 and garbled.get_json()["errors"][0]["field"] == "/until"
    assert world.as_sam.post(f"/activities/{task}/snooze", {}).status_code == 422
    later = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    snoozed = world.as_sam.post(f"/activities/{task}/snooze",
                                {"until": later.isoformat().replace("+00:00", "Z")})
    assert snoozed.status_code == 200, snoozed.get_json()
    assert snoozed.get_json()["activity"]["snoozed_until"].startswith(
        later.strftime("%Y-%m-%dT%H:%M"))
    assert world.as_sam.get("/activities").get_json()["data"] == []
    assert len(world.as_sam.get("/activities?when=snoozed").get_json()["data"]) == 1
    skipped = world.as_sam.post(f"/activities/{task}/skip", {"reason": "Not relevant"})
    assert skipped.status_code == 200
    assert skipped.get_json()["activity"]["status"] == "skipped"
    assert skipped.get_json()["activity"]["notes"] == "Not relevant"
    assert world.as_sam.post(f"/activities/{task}/skip").status_code == 409


def test_another_sellers_activity_is_404_and_read_only_keys_cannot_act(world):
    [enrollment] = world.connect(1, world.sam)
    task = world.open_run(enrollment)
    for action, body in (("complete", None), ("skip", None),
                         ("snooze", {"until": "2999-01-01T09:00:00Z"})):
        assert world.as_sue.post(f"/activities/{task}/{action}", body).status_code == 404
        assert world.reader.post(f"/activities/{task}/{action}", body).status_code == 403
    assert world.manager.post(f"/activities/{task}/complete").status_code == 200
    assert world.as_sam.post("/activities/0/complete").status_code == 404
