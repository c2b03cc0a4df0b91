"""Sequences over the API: list, one with its steps, connecting records or a segment, and the
sequence's connections; the web's refusals as problems."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.engine.models import ConnectJob, Enrollment
from saas.extensions import db
from saas.segments.models import Segment, SegmentMember
from saas.sequences.models import Sequence
from tests.api.world import make_world
from tests.engine.factories import build_sequence

PROBLEM = "application/problem+json"


@pytest.fixture
def world(app, admin, make_user, add_records, api_for):
    return make_world(app, admin, make_user, add_records, api_for)


def test_list_and_get_a_sequence_with_its_steps(world):
    listed = world.manager.get("/sequences").get_json()["data"]
    assert [(s["name"], s["status"], s["running"]) for s in listed] == [
        ("Follow-up", "active", 0)]
    world.connect(2, world.sam)
    assert world.manager.get("/sequences?status=active").get_json()["data"][0]["running"] == 2
    assert world.manager.get("/sequences?status=draft").get_json()["data"] == []
    one = world.reader.get(f"/sequences/{world.sequence_id}").get_json()
    assert [(s["type"], s["name"], s["branch"]) for s in one["steps"]] == [
        ("task", "Research", "main"), ("call", "Call", "main"), ("task", "Wrap up", "main")]
    assert one["running"] == 2 and one["version"] == 1
    assert world.manager.get("/sequences/999999").status_code == 404
    assert world.manager.get("/sequences?status=bogus").status_code == 400


def test_sellers_key_may_not_read_the_sequences_pages(world):
    refused = world.as_sam.get("/sequences")
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    assert world.as_sam.get(f"/sequences/{world.sequence_id}/enrollments").status_code == 403


def test_connect_records_says_what_was_connected_and_skipped(world, add_records):
    first = world.connect(1, world.sam)
    with world.inside():
        running = db.session.execute(select(Enrollment.record_id).where(
            Enrollment.id == first[0])).scalar_one()
    owned = add_records(world.tenant, 2, owner_id=world.sam.id,
                        email=lambda i: f"owned{i}@example.com")
    unowned = add_records(world.tenant, 1, email=lambda i: f"free{i}@example.com")
    opportunity = add_records(world.tenant, 1, record_type="opportunity",
                              email=lambda i: f"opp{i}@example.com")
    answer = world.as_sam.post(f"/sequences/{world.sequence_id}/enrollments", {
        "record_ids": [*owned, *unowned, running, *opportunity, 987654321, owned[0]]})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["connected"] == sorted([*owned, *unowned])
    assert body["waiting_for_seller"] == unowned
    assert {(s["record_id"], s["reason"]) for s in body["skipped"]} == {
        (running, "already_running"), (opportunity[0], "other_type"),
        (987654321, "not_found")}
    assert all(s["message"] for s in body["skipped"])
    again = world.manager.post(f"/sequences/{world.sequence_id}/enrollments",
                               {"record_ids": owned})
    assert again.get_json()["connected"] == []
    assert {s["reason"] for s in again.get_json()["skipped"]} == {"already_running"}


def test_an_inactive_sequence_is_a_409_and_connects_nothing(world, add_records):
    with world.inside():
        draft = build_sequence([{"type": "task"}], name="Draft one", status="draft")
        draft_id = draft.id
        db.session.commit()
    ids = add_records(world.tenant, 1, email=lambda i: f"d{i}@example.com")
    answer = world.manager.post(f"/sequences/{draft_id}/enrollments", {"record_ids": ids})
    assert answer.status_code == 409 and answer.mimetype == PROBLEM
    assert "not active" in answer.get_json()["detail"]
    with world.inside():
        assert db.session.execute(select(Enrollment.id)).first() is None


def test_bad_connect_bodies_name_the_field(world):
    path = f"/sequences/{world.sequence_id}/enrollments"
    both = world.manager.post(path, {"record_ids": [1], "segment_id": 1})
    assert both.status_code == 422
    assert both.get_json()["errors"][0]["field"] == "/record_ids"
    assert world.manager.post(path, {}).status_code == 422
    many = world.manager.post(path, {"record_ids": list(range(1, 1002))})
    assert many.status_code == 422 and many.get_json()["errors"][0]["field"] == "/record_ids"
    wrong = world.manager.post(path, {"record_ids": ["a"]})
    assert wrong.get_json()["errors"][0]["field"] == "/record_ids/0"
    missing = world.manager.post(path, {"segment_id": 424242})
    assert missing.status_code == 422
    assert missing.get_json()["errors"][0]["field"] == "/segment_id"
    assert world.manager.post("/sequences/999999/enrollments",
                              {"record_ids": [1]}).status_code == 404
    assert world.reader.post(path, {"record_ids": [1]}).status_code == 403


def test_connect_a_segment_managers_only(world, add_records):
    ids = add_records(world.tenant, 3, owner_id=world.sam.id,
                      email=lambda i: f"seg{i}@example.com")
    with world.inside():
        segment = Segment(name="Hot", record_type="lead", status="active",
                          rules={"op": "and", "rules": []}, member_count=3)
        db.session.add(segment)
        db.session.flush()
        db.session.add_all([SegmentMember(segment_id=segment.id, record_id=i) for i in ids])
        inactive = Segment(name="Cold", record_type="lead", status="inactive",
                           rules={"op": "and", "rules": []})
        db.session.add(inactive)
        db.session.commit()
        segment_id, inactive_id = segment.id, inactive.id
    path = f"/sequences/{world.sequence_id}/enrollments"
    seller = world.as_sam.post(path, {"segment_id": segment_id})
    assert seller.status_code == 403
    answer = world.manager.post(path, {"segment_id": segment_id})
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["total"] == 3
    with world.inside():
        job = db.session.get(ConnectJob, answer.get_json()["job_id"])
        assert job.segment_id == segment_id and job.total == 3
    twice = world.manager.post(path, {"segment_id": segment_id})
    assert twice.status_code == 409 and "already connected" in twice.get_json()["detail"]
    cold = world.manager.post(path, {"segment_id": inactive_id})
    assert cold.status_code == 409 and "Activate" in cold.get_json()["detail"]


def test_a_sequences_connections_in_pages(world):
    made = world.connect(3, world.sam) + world.connect(1)
    path = f"/sequences/{world.sequence_id}/enrollments"
    page = world.reader.get(path).get_json()
    assert [e["id"] for e in page["data"]] == sorted(made, reverse=True)
    assert page["next_cursor"] is None
    waiting = world.manager.get(f"{path}?status=unassigned").get_json()["data"]
    assert [e["id"] for e in waiting] == [made[-1]] and waiting[0]["seller_id"] is None
    assert world.manager.get(f"{path}?status=completed").get_json()["data"] == []
    assert world.manager.get(f"{path}?after=forged").status_code == 400
    with world.inside():
        sequence = db.session.get(Sequence, world.sequence_id)
        assert sequence.lineage_id == world.sequence_id


def test_a_retried_connect_with_its_idempotency_key_answers_the_first_result(world,
                                                                           add_records):
    ids = add_records(world.tenant, 2, owner_id=world.sam.id,
                      email=lambda i: f"retry{i}@example.com")
    path = f"/sequences/{world.sequence_id}/enrollments"
    first = world.manager.post(path, {"record_ids": ids}, headers={"Idempotency-Key": "c-1"})
    again = world.manager.post(path, {"record_ids": ids}, headers={"Idempotency-Key": "c-1"})
    assert first.get_json()["connected"] == ids
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    fresh = world.manager.post(path, {"record_ids": ids}, headers={"Idempotency-Key": "c-2"})
    assert fresh.get_json()["connected"] == []
