import re

import pytest
from sqlalchemy import select, update

from saas.auth.models import Role
from saas.extensions import db
from saas.records.models import Record
from saas.segments import membership
from saas.segments.builder import apply_action, tree_from_form
from saas.segments.models import Segment, SegmentEvent, SegmentMember
from saas.tenancy import tenant_context

TRADE_SHOW = {"g-r-op": "and", "c-r.0-field": "lead_source", "c-r.0-operator": "equals",
              "c-r.0-value": "Trade show"}


@pytest.fixture
def manager(make_tenant, make_user):
    tenant = make_tenant("acme", name="Acme")
    return make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@acme.example")


@pytest.fixture
def mclient(client, manager, login):
    login(client, manager)
    return client


def form(name="Trade show leads", action="save", **rules):
    return {"name": name, "record_type": "lead", "priority": "0", "description": "",
            **(rules or TRADE_SHOW), "action": action}


def errors_of(response) -> list[str]:
    return re.findall(r'class="error"[^>]*>([^<]*)<', response.get_data(as_text=True))


def members(app, tenant, segment_id) -> set[int]:
    with app.app_context(), tenant_context(tenant.id):
        return set(db.session.execute(select(SegmentMember.record_id).where(
            SegmentMember.segment_id == segment_id)).scalars())


def events(app, tenant) -> list[tuple[str, int]]:
    with app.app_context(), tenant_context(tenant.id):
        return [(e.kind, e.record_id) for e in db.session.execute(
            select(SegmentEvent).order_by(SegmentEvent.id)).scalars()]


def test_builder_reads_nested_groups_and_edits_them():
    tree = tree_from_form({"g-r-op": "or", "c-r.0-field": "status", "c-r.0-operator": "equals",
                           "c-r.0-value": "new", "g-r.1-op": "and",
                           "c-r.1.0-field": "country", "c-r.1.0-operator": "is_empty",
                           "c-r.1.0-value": ""})
    assert tree == {"op": "or", "rules": [
        {"field": "status", "operator": "equals", "value": "new"},
        {"op": "and", "rules": [{"field": "country", "operator": "is_empty", "value": ""}]}]}
    tree = apply_action(tree, "add-row:r.1")
    assert len(tree["rules"][1]["rules"]) == 2
    tree = apply_action(tree, "add-group:r.1")
    assert tree["rules"][1]["rules"][2]["op"] == "and"
    tree = apply_action(tree, "add-group:r.1.2")  # a fourth level is refused
    assert "rules" not in tree["rules"][1]["rules"][2]["rules"][-1]
    tree = apply_action(tree, "remove:r.0")
    assert tree["rules"][0]["op"] == "and"


def test_builder_actions_rerender_without_saving(app, mclient, manager):
    page = mclient.post("/acme/segments/new", data=form(action="add-group:r"))
    assert page.status_code == 200 and 'name="c-r.1.0-field"' in page.get_data(as_text=True)
    with app.app_context(), tenant_context(manager.tenant.id):
        assert db.session.execute(select(Segment)).first() is None


@pytest.mark.parametrize("rules, message", [
    ({"g-r-op": "and"}, "This group is empty"),
    ({**TRADE_SHOW, "c-r.0-field": ""}, "Choose a field."),
    ({**TRADE_SHOW, "c-r.0-field": "shoe_size"}, "is not a field of these records"),
    ({**TRADE_SHOW, "c-r.0-operator": "gt"}, "does not apply here"),
    ({**TRADE_SHOW, "c-r.0-value": ""}, "enter a value"),
    ({**TRADE_SHOW, "c-r.0-value": "Carrier pigeon"}, "is not one of"),
    ({**TRADE_SHOW, "g-r.1-op": "or"}, "This group is empty"),
    ({"g-r-op": "and", "c-r.0-field": "created_at", "c-r.0-operator": "in_last_days",
      "c-r.0-value": "a week"}, "whole number of days"),
])
def test_invalid_rules_are_shown_next_to_their_row_and_not_saved(app, mclient, manager,
                                                                 rules, message):
    response = mclient.post("/acme/segments/new", data=form(**rules))
    assert response.status_code == 422
    assert any(message in e for e in errors_of(response)), errors_of(response)
    with app.app_context(), tenant_context(manager.tenant.id):
        assert db.session.execute(select(Segment)).first() is None


def test_name_is_required_and_unique(mclient):
    assert mclient.post("/acme/segments/new", data=form()).status_code == 302
    taken = mclient.post("/acme/segments/new", data=form())
    assert "Another segment has this name." in errors_of(taken)
    assert "Enter a name." in errors_of(mclient.post("/acme/segments/new", data=form(name="")))


def test_simulate_counts_and_lists_matches_before_saving(app, mclient, manager, add_records):
    add_records(manager.tenant, 30, lead_source=lambda i: "Trade show" if i < 27 else "Web")
    page = mclient.post("/acme/segments/new", data=form(action="simulate"))
    text = page.get_data(as_text=True)
    assert "Simulated members: 27" in text
    assert text.count("<td>Trade show</td>") == 25 and "The first 25 are shown." in text
    with app.app_context(), tenant_context(manager.tenant.id):
        assert db.session.execute(select(Segment)).first() is None


def test_activation_and_live_membership(app, mclient, manager, add_records):
    tenant = manager.tenant
    ids = add_records(tenant, 4, lead_source=lambda i: "Trade show" if i < 2 else "Web")
    saved = mclient.post("/acme/segments/new", data=form())
    segment_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    assert members(app, tenant, segment_id) == set()  # a draft has no members

    mclient.post(f"/acme/segments/{segment_id}/activate")
    assert members(app, tenant, segment_id) == set(ids[:2])
    assert "2 members" in mclient.get(f"/acme/segments/{segment_id}").get_data(as_text=True)

    created = mclient.post("/acme/leads/new", data={"last_name": "New",
                                                    "lead_source": "Trade show"})
    new_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert new_id in members(app, tenant, segment_id)
    mclient.post(f"/acme/records/{ids[0]}/edit", data={"last_name": "Moved",
                                                       "lead_source": "Web", "status": "new"})
    assert members(app, tenant, segment_id) == {ids[1], new_id}
    assert events(app, tenant)[-2:] == [("joined", new_id), ("left", ids[0])]

    # A change made behind the app's back is repaired by a full re-evaluation.
    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(update(Record).where(Record.id == ids[3])
                           .values(lead_source="Trade show"))
        db.session.commit()
    mclient.post(f"/acme/segments/{segment_id}/reevaluate")
    assert ids[3] in members(app, tenant, segment_id)

    mclient.post(f"/acme/segments/{segment_id}/deactivate")
    assert members(app, tenant, segment_id) == set()
    mclient.post("/acme/leads/new", data={"last_name": "Later", "lead_source": "Trade show"})
    assert members(app, tenant, segment_id) == set()


def test_membership_of_one_record_updates_every_active_segment(app, manager, add_records):
    tenant = manager.tenant
    [record_id] = add_records(tenant, 1, lead_source="Web", country="FR")
    with app.app_context(), tenant_context(tenant.id):
        web = Segment(name="Web", record_type="lead", status="active", priority=1,
                      rules={"op": "and", "rules": [
                          {"field": "lead_source", "operator": "equals", "value": "Web"}]})
        french = Segment(name="France", record_type="lead", status="active", priority=5,
                         rules={"op": "or", "rules": [
                             {"field": "country", "operator": "equals", "value": "FR"},
                             {"op": "and", "rules": [
                                 {"field": "company", "operator": "contains", "value": "x"},
                                 {"field": "status", "operator": "equals",
                                  "value": "qualified"}]}]})
        draft = Segment(name="Draft", record_type="lead", status="draft",
                        rules={"op": "and", "rules": [
                            {"field": "status", "operator": "equals", "value": "new"}]})
        db.session.add_all([web, french, draft])
        db.session.flush()
        assert membership.refresh_records([record_id]) == {"joined": 2, "left": 0}
        assert membership.refresh_records([record_id]) == {"joined": 0, "left": 0}
        assert membership.owning_segment(record_id).name == "France"  # the higher priority
        db.session.commit()
        assert (web.member_count, french.member_count, draft.member_count) == (1, 1, 0)


def test_imported_records_join_active_segments(app, mclient, manager, redis_conn):
    from rq import Queue

    from tests.imports.conftest import upload
    from worker.runner import AppWorker

    saved = mclient.post("/acme/segments/new", data=form())
    segment_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    mclient.post(f"/acme/segments/{segment_id}/activate")
    response = upload(mclient, "acme", "First name,Last name,Email,Lead source\n"
                                       "Ann,Able,ann@x.example,Trade show\n"
                                       "Bob,Baker,bob@x.example,Web\n")
    import_id = int(response.headers["Location"].split("/")[-2])
    mapping = mclient.get(f"/acme/imports/{import_id}/mapping").get_data(as_text=True)
    from tests.imports.conftest import selected_options

    data = {**selected_options(mapping), "duplicate_mode": "skip"}
    assert mclient.post(f"/acme/imports/{import_id}/mapping", data=data).status_code == 302
    AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    with app.app_context(), tenant_context(manager.tenant.id):
        ann = db.session.execute(select(Record.id).where(
            Record.email == "ann@x.example")).scalar_one()
    assert members(app, manager.tenant, segment_id) == {ann}


def test_delete_spells_out_what_it_does(app, mclient, manager):
    saved = mclient.post("/acme/segments/new", data=form())
    page = mclient.get(saved.headers["Location"]).get_data(as_text=True)
    assert "sequences connected to it receive no new records from it" in page
    assert mclient.get(saved.headers["Location"] + "/delete").status_code == 405
    mclient.post(saved.headers["Location"] + "/delete")
    assert "No segments yet." in mclient.get("/acme/segments").get_data(as_text=True)


def test_segments_need_the_sequence_manager_role(app, manager, make_user, login):
    seller = make_user(manager.tenant, roles=[Role.SELLER])
    client = app.test_client()
    login(client, seller)
    assert client.get("/acme/segments").status_code == 403


def test_activation_assigns_unowned_members(app, mclient, manager, make_user, add_records):
    from saas.segments.models import AssignmentRule

    tenant = manager.tenant
    seller = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    ids = add_records(tenant, 3, lead_source="Trade show", owner_id=None)
    saved = mclient.post("/acme/segments/new", data=form())
    segment_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    with app.app_context(), tenant_context(tenant.id):
        db.session.add(AssignmentRule(segment_id=segment_id, name="Everyone", position=1,
                                      conditions={"op": "and", "rules": []}, target="any",
                                      seller_ids=[], distribution="round_robin"))
        db.session.commit()
    mclient.post(f"/acme/segments/{segment_id}/activate")
    with app.app_context(), tenant_context(tenant.id):
        owners = db.session.execute(select(Record.owner_id).where(Record.id.in_(ids)))
        assert set(owners.scalars()) == {seller.id}


def test_cached_rule_expressions_follow_rule_and_custom_field_changes(app, manager,
                                                                     add_records):
    """refresh_records caches compiled rules: a changed rule, or a custom field removed and
    added again with another kind, must be compiled afresh."""
    from saas.records.custom_fields import add_custom_field
    from saas.records.models import CustomField

    tenant = manager.tenant
    [record_id] = add_records(tenant, 1, lead_source="Web", custom={"score": "12"})
    with app.app_context(), tenant_context(tenant.id):
        field = add_custom_field(record_type="lead", label="Score", kind="text")
        segment = Segment(name="Scored", record_type="lead", status="active",
                          rules={"op": "and", "rules": [
                              {"field": "custom.score", "operator": "equals", "value": "12"}]})
        db.session.add(segment)
        db.session.flush()
        assert membership.refresh_records([record_id]) == {"joined": 1, "left": 0}
        segment.rules = {"op": "and", "rules": [
            {"field": "custom.score", "operator": "equals", "value": "13"}]}
        db.session.flush()
        assert membership.refresh_records([record_id]) == {"joined": 0, "left": 1}
        marks = {row.fields_mark for row in membership.active_segments()}
        db.session.delete(db.session.execute(
            select(CustomField).where(CustomField.id == field.id)).scalar_one())
        db.session.flush()
        add_custom_field(record_type="lead", label="Score", kind="number")
        assert {row.fields_mark for row in membership.active_segments()} != marks
        segment.rules = {"op": "and", "rules": [
            {"field": "custom.score", "operator": "gt", "value": "10"}]}
        db.session.flush()
        assert membership.refresh_records([record_id]) == {"joined": 1, "left": 0}
        db.session.rollback()


def test_deleting_a_segment_keeps_its_connections_running_without_it(app, manager,
                                                                     add_records):
    from saas.engine.models import Enrollment
    from saas.segments.services import delete_segment
    from saas.sequences.models import Sequence

    tenant = manager.tenant
    [record_id] = add_records(tenant, 1)
    with app.app_context(), tenant_context(tenant.id):
        segment = Segment(name="Web", record_type="lead", status="active", rules={})
        sequence = Sequence(name="Follow-up", record_type="lead", status="active")
        db.session.add_all([segment, sequence])
        db.session.flush()
        db.session.add(Enrollment(record_id=record_id, sequence_id=sequence.id,
                                  lineage_id=sequence.id, segment_id=segment.id,
                                  source="segment", status="active"))
        db.session.commit()
        delete_segment(segment)
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
        assert (enrollment.status, enrollment.segment_id) == ("active", None)
