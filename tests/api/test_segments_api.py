"""Segments over the API: the list and a segment's members in pages."""

from __future__ import annotations

from saas.extensions import db
from saas.segments.models import Segment, SegmentMember
from saas.tenancy import tenant_context


def _segment(app, tenant, name, record_ids, status="active", priority=0) -> int:
    with app.app_context(), tenant_context(tenant.id):
        segment = Segment(name=name, record_type="lead", status=status, priority=priority,
                          rules={"op": "and", "rules": []}, member_count=len(record_ids))
        db.session.add(segment)
        db.session.flush()
        db.session.add_all([SegmentMember(segment_id=segment.id, record_id=i)
                            for i in record_ids])
        db.session.commit()
        return segment.id


def test_list_segments_and_page_through_members(app, admin, api, api_for, add_records,
                                                make_user):
    ids = add_records(admin.tenant, 5)
    hot = _segment(app, admin.tenant, "Hot leads", ids, priority=5)
    _segment(app, admin.tenant, "Old", [], status="inactive")
    listed = api.get("/segments").get_json()["data"]
    assert [(s["name"], s["status"], s["member_count"]) for s in listed] == [
        ("Hot leads", "active", 5), ("Old", "inactive", 0)]
    assert [s["name"] for s in api.get("/segments?status=inactive").get_json()["data"]] == [
        "Old"]
    first = api_for(admin, "read_only").get(f"/segments/{hot}/members?limit=3").get_json()
    assert [r["id"] for r in first["data"]] == ids[:3]
    rest = api.get(f"/segments/{hot}/members?limit=3&after={first['next_cursor']}").get_json()
    assert [r["id"] for r in rest["data"]] == ids[3:] and rest["next_cursor"] is None
    assert api.get("/segments/999999/members").status_code == 404
    assert api.get(f"/segments/{hot}/members?after=forged").status_code == 400
    assert api.get("/segments?status=maybe").status_code == 400
    from saas.auth.models import Role

    seller = make_user(admin.tenant, roles=[Role.SELLER])
    assert api_for(admin, "seller", seller).get("/segments").status_code == 403
