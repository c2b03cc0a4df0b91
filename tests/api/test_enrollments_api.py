"""Connections over the API: one with its history; pause, resume, disconnect, with the web's
rules (a seller acts on their own connections only; an ended one refuses)."""

from __future__ import annotations

import pytest

from tests.api.world import make_world

PROBLEM = "application/problem+json"


@pytest.fixture
def world(app, admin, make_user, add_records, api_for):
    return make_world(app, admin, make_user, add_records, api_for)


def test_a_connection_with_its_current_step_and_history(world):
    [enrollment] = world.connect(1, world.sam)
    run = world.open_run(enrollment)
    world.as_sam.post(f"/activities/{run}/complete", {"notes": "Read their site"})
    detail = world.as_sam.get(f"/enrollments/{enrollment}").get_json()
    assert detail["status"] == "active" and detail["seller_id"] == world.sam.id
    assert detail["seller_name"] == "Sam Seller" and detail["sequence_name"] == "Follow-up"
    assert detail["current_step"]["name"] == "Call"
    assert detail["current_run"]["status"] == "open" and detail["current_run"]["type"] == "call"
    assert [(h["step_name"], h["status"], h["notes"]) for h in detail["history"]] == [
        ("Research", "completed", "Read their site"), ("Call", "open", None)]
    assert world.reader.get(f"/enrollments/{enrollment}").status_code == 200


def test_pause_resume_disconnect_and_the_409_after_the_end(world):
    [enrollment] = world.connect(1, world.sam)
    base = f"/enrollments/{enrollment}"
    paused = world.as_sam.post(f"{base}/pause")
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    assert world.as_sam.get("/activities").get_json()["data"] == []  # held while paused
    assert world.as_sam.post(f"{base}/resume").get_json()["status"] == "active"
    assert len(world.as_sam.get("/activities").get_json()["data"]) == 1
    gone = world.manager.post(f"{base}/disconnect")
    assert gone.status_code == 200 and gone.get_json()["status"] == "disconnected"
    assert gone.get_json()["ended_at"] is not None
    for action in ("pause", "resume", "disconnect"):
        refused = world.manager.post(f"{base}/{action}")
        assert refused.status_code == 409 and refused.mimetype == PROBLEM, action
        assert refused.get_json()["detail"] == "This connection has ended."


def test_another_sellers_connection_is_404_and_read_only_keys_cannot_act(world):
    [enrollment] = world.connect(1, world.sam)
    base = f"/enrollments/{enrollment}"
    assert world.as_sue.get(base).status_code == 404
    for action in ("pause", "resume", "disconnect"):
        assert world.as_sue.post(f"{base}/{action}").status_code == 404
        assert world.reader.post(f"{base}/{action}").status_code == 403
    assert world.manager.get(base).get_json()["status"] == "active"
    assert world.manager.get("/enrollments/0").status_code == 404
    assert world.manager.get("/enrollments/99999999999999999999").status_code == 404
