"""Every answer of the sequences, connections, activities, segments, templates, analytics and
suppression operations, on real data (not the empty lists a fuzzer mostly sees), matches the
schema the OpenAPI document gives for its status: required keys, types, nulls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from saas.api.openapi import document
from saas.extensions import db
from saas.segments.models import Segment, SegmentMember
from saas.templates_.models import MessageTemplate
from saas.timeutil import utcnow
from tests.api.world import make_world


@pytest.fixture
def world(app, admin, make_user, add_records, api_for):
    return make_world(app, admin, make_user, add_records, api_for)


@pytest.fixture
def conforms(app):
    with app.test_request_context():
        doc = document()
    checked = []

    def check(response, method: str, path: str) -> dict:
        status = str(response.status_code)
        answers = doc["paths"][path][method.lower()]["responses"]
        assert status in answers, f"{method} {path}: undocumented {status}"
        content = answers[status].get("content")
        if content is None:
            assert not response.data
            return {}
        [(mimetype, body)] = content.items()
        assert response.mimetype == mimetype, f"{method} {path}: {response.mimetype}"
        validator = Draft202012Validator({**body["schema"], "components": doc["components"]},
                                         format_checker=FormatChecker())
        data = response.get_json()
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert not problems, f"{method} {path} {status}: {problems[:5]}"
        checked.append((method, path))
        return data

    check.checked = checked
    return check


def test_every_answer_matches_its_schema(world, conforms, add_records):
    seq = world.sequence_id
    enrollments = world.connect(2, world.sam) + world.connect(1)
    ids = add_records(world.tenant, 2, owner_id=world.sam.id,
                      email=lambda i: f"doc{i}@example.com")
    with world.inside():
        segment = Segment(name="Docs", record_type="lead", status="active",
                          rules={"op": "and", "rules": []}, member_count=2)
        db.session.add(segment)
        db.session.flush()
        db.session.add_all([SegmentMember(segment_id=segment.id, record_id=i) for i in ids])
        intro = MessageTemplate(kind="email", name="Intro", subject="Hi", text_body="Hi")
        db.session.add(intro)
        db.session.flush()
        db.session.add(MessageTemplate(kind="email", name="Intro", language="fr",
                                       translation_of_id=intro.id, subject="Salut"))
        db.session.commit()
        segment_id = segment.id
    m, s = world.manager, world.as_sam
    conforms(m.get("/segments"), "GET", "/segments")
    conforms(m.get(f"/segments/{segment_id}/members?limit=1"), "GET",
             "/segments/{segment_id}/members")
    conforms(m.get("/sequences"), "GET", "/sequences")
    conforms(m.get(f"/sequences/{seq}"), "GET", "/sequences/{sequence_id}")
    conforms(m.get(f"/sequences/{seq}/enrollments"), "GET", "/sequences/{sequence_id}/enrollments")
    connect = "/sequences/{sequence_id}/enrollments"
    conforms(s.post(f"/sequences/{seq}/enrollments", {"record_ids": [*ids, 99999]}), "POST",
             connect)
    conforms(m.post(f"/sequences/{seq}/enrollments", {"segment_id": segment_id}), "POST",
             connect)
    conforms(m.post(f"/sequences/{seq}/enrollments", {"segment_id": segment_id}), "POST",
             connect)  # 409
    conforms(m.post(f"/sequences/{seq}/enrollments", {"record_ids": []}), "POST", connect)
    conforms(s.get("/activities"), "GET", "/activities")
    run = world.open_run(enrollments[0])
    conforms(s.post(f"/activities/{run}/complete", {"notes": "ok"}), "POST",
             "/activities/{step_run_id}/complete")
    conforms(s.post(f"/activities/{run}/complete"), "POST",
             "/activities/{step_run_id}/complete")  # 409
    call = world.open_run(enrollments[0])
    conforms(s.post(f"/activities/{call}/complete", {}), "POST",
             "/activities/{step_run_id}/complete")  # 422
    until = (utcnow() + timedelta(days=2)).isoformat()
    conforms(s.post(f"/activities/{call}/snooze", {"until": until}), "POST",
             "/activities/{step_run_id}/snooze")
    conforms(s.post(f"/activities/{call}/skip"), "POST", "/activities/{step_run_id}/skip")
    for detail in (enrollments[0], enrollments[2]):
        conforms(m.get(f"/enrollments/{detail}"), "GET", "/enrollments/{enrollment_id}")
    conforms(s.post(f"/enrollments/{enrollments[1]}/pause"), "POST",
             "/enrollments/{enrollment_id}/pause")
    conforms(s.post(f"/enrollments/{enrollments[1]}/resume"), "POST",
             "/enrollments/{enrollment_id}/resume")
    conforms(s.post(f"/enrollments/{enrollments[1]}/disconnect"), "POST",
             "/enrollments/{enrollment_id}/disconnect")
    conforms(s.post(f"/enrollments/{enrollments[1]}/disconnect"), "POST",
             "/enrollments/{enrollment_id}/disconnect")  # 409
    conforms(s.get(f"/enrollments/{enrollments[2]}"), "GET",
             "/enrollments/{enrollment_id}")  # 404: no seller yet, so not Sam's
    conforms(m.get("/templates"), "GET", "/templates")
    conforms(m.get(f"/sequences/{seq}/analytics?fresh=true"), "GET",
             "/sequences/{sequence_id}/analytics")
    added = conforms(m.post("/suppressions", {"address": "no@example.com"}), "POST",
                     "/suppressions")
    conforms(m.post("/suppressions", {"address": "no@example.com"}), "POST",
             "/suppressions")  # 422
    conforms(m.get("/suppressions"), "GET", "/suppressions")
    conforms(m.delete(f"/suppressions/{added['id']}"), "DELETE",
             "/suppressions/{suppression_id}")
    assert len(conforms.checked) >= 25
