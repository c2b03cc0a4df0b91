"""Assignment rules: records joining a segment get an owner, by the rules in order."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from saas.admin.models import AuditEvent
from saas.auth.models import Role, User
from saas.extensions import db
from saas.records.models import Record
from saas.segments import assignment
from saas.segments.membership import refresh_records
from saas.segments.models import AssignmentLog, AssignmentRule, Segment
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

EVERY_LEAD = {"op": "and", "rules": [{"field": "last_name", "operator": "is_not_empty"}]}
TRADE_SHOW = {"op": "and", "rules": [{"field": "lead_source", "operator": "equals",
                                      "value": "Trade show"}]}


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("acme", name="Acme")


@pytest.fixture
def seller(app, make_user, tenant):
    """seller(country=None, available=True) -> user id of an active seller."""
    def make(country=None, available=True, tenant_=None):
        t = tenant_ or tenant
        user = make_user(t, roles=[Role.SELLER])
        with app.app_context(), tenant_context(t.id):
            db.session.execute(update(User).where(User.id == user.id)
                               .values(country=country, available=available))
            db.session.commit()
        return user.id
    return make


@pytest.fixture
def segment(app, tenant):
    """segment(rules=..., priority=0) -> id of an active lead segment."""
    def make(rules=EVERY_LEAD, priority=0, name="Segment"):
        with app.app_context(), tenant_context(tenant.id):
            s = Segment(name=name, status="active", rules=rules, record_type="lead",
                        priority=priority)
            db.session.add(s)
            db.session.commit()
            return s.id
    return make


@pytest.fixture
def rule(app, tenant):
    """rule(segment_id, **add_rule arguments) -> rule id, appended at the end."""
    def make(segment_id, name="Rule", conditions=None, target="any", **kwargs):
        with app.app_context(), tenant_context(tenant.id):
            s = db.session.execute(select(Segment).where(Segment.id == segment_id)).scalar_one()
            r = assignment.add_rule(s, name=name, conditions=conditions, target=target, **kwargs)
            db.session.commit()
            return r.id
    return make


@pytest.fixture
def leads(app, tenant):
    """leads(n, **columns) inserts n leads (not yet in any segment) and runs membership for
    them, as record creation and import do; returns their ids."""
    counter = iter(range(100_000))

    def add(n=1, join=True, **columns):
        now = utcnow()
        rows = []
        for _ in range(n):
            i = next(counter)
            row = {"tenant_id": tenant.id, "record_type": "lead", "first_name": f"F{i}",
                   "last_name": f"L{i:05d}", "email": f"p{i}@example.com", "status": "new",
                   "custom": {}, "time_zone": "UTC", "created_at": now, "updated_at": now}
            row.update(columns)
            rows.append(row)
        with app.app_context(), tenant_context(tenant.id):
            ids = db.session.execute(insert(Record).returning(Record.id), rows).scalars().all()
            if join:
                refresh_records(ids)
            db.session.commit()
        return ids
    return add


@pytest.fixture
def owners(app, tenant):
    def read(ids) -> dict[int, int | None]:
        with app.app_context(), tenant_context(tenant.id):
            return {i: o for i, o in db.session.execute(
                select(Record.id, Record.owner_id).where(Record.id.in_(ids)))}
    return read


def test_round_robin_is_fair_and_continues_in_the_next_batch(segment, rule, seller, leads,
                                                             owners):
    a, b, c = seller(), seller(), seller()
    rule(segment())
    first = owners(leads(10))
    assert Counter(first.values()) == {a: 4, b: 3, c: 3}
    # In id order: a, b, c, a, b, ...
    assert [first[i] for i in sorted(first)][:4] == [a, b, c, a]
    second = owners(leads(2))
    assert [second[i] for i in sorted(second)] == [b, c]


def test_concurrent_batches_take_turns_in_the_round_robin(app, tenant, segment, rule, seller,
                                                          leads, owners):
    a, b = seller(), seller()
    rule(segment())
    first, second = leads(1, join=False), leads(1, join=False)
    assigned, release = threading.Event(), threading.Event()
    done = []

    def join(ids, hold):
        with app.app_context(), tenant_context(tenant.id):
            refresh_records(ids)
            if hold:
                assigned.set()
                release.wait(10)
            db.session.commit()
            done.append(ids)

    one = threading.Thread(target=join, args=(first, True))
    one.start()
    assert assigned.wait(10)
    two = threading.Thread(target=join, args=(second, False))
    two.start()
    two.join(1)
    assert two.is_alive()          # waits for the first batch's rules lock
    release.set()
    one.join(10)
    two.join(10)
    assert done == [first, second]
    assert owners(first + second) == {first[0]: a, second[0]: b}


def test_load_balancing_gives_fewer_to_a_busier_seller(segment, rule, seller, leads, owners):
    busy, free = seller(), seller()
    leads(4, join=False, owner_id=busy)                      # 4 open leads already
    leads(3, join=False, owner_id=free, status="qualified")  # not open: do not count
    rule(segment(), distribution="load_balancing")
    got = Counter(owners(leads(6)).values())
    assert got == {free: 5, busy: 1}


def test_unavailable_sellers_are_skipped(segment, rule, seller, leads, owners):
    here = seller()
    seller(available=False)
    rule(segment())
    assert set(owners(leads(3)).values()) == {here}


def test_only_active_users_with_the_seller_role_are_assigned(make_user, tenant, segment, rule,
                                                             seller, leads, owners):
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    make_user(tenant, roles=[Role.SELLER], status="deactivated")
    make_user(tenant, roles=[Role.SELLER], status="invited")
    only = seller()
    rule(segment())
    assert set(owners(leads(3)).values()) == {only}


def test_no_available_seller_leaves_records_unowned(segment, rule, seller, leads, owners):
    seller(available=False)
    rule(segment())
    assert set(owners(leads(2)).values()) == {None}


def test_specific_sellers_only(segment, rule, seller, leads, owners):
    a, b, _ = seller(), seller(), seller()
    rule(segment(), target="specific", seller_ids=[a, b])
    assert Counter(owners(leads(4)).values()) == {a: 2, b: 2}


def test_sellers_matching_the_records_country(segment, rule, seller, leads, owners):
    fr, de = seller(country="FR"), seller(country="DE")
    rule(segment(), target="matching", match_attribute="country")
    french, german, nowhere = leads(2, country="FR"), leads(1, country="DE"), leads(1)
    got = owners(french + german + nowhere)
    assert [got[i] for i in french] == [fr, fr]
    assert got[german[0]] == de
    assert got[nowhere[0]] is None


def test_first_matching_rule_wins_and_a_rule_without_sellers_falls_through(
        segment, rule, seller, leads, owners):
    shows, anyone, nobody = seller(), seller(), seller(country="JP")
    s = segment()
    rule(s, name="Japan", target="matching")        # matches all, but only for JP records
    rule(s, name="Trade shows", conditions=TRADE_SHOW, target="specific", seller_ids=[shows])
    rule(s, name="Everyone else", target="specific", seller_ids=[anyone])
    show = leads(2, lead_source="Trade show")
    web = leads(2, lead_source="Web")
    japan = leads(1, lead_source="Web", country="JP")
    got = owners(show + web + japan)
    assert {got[i] for i in show} == {shows}
    assert {got[i] for i in web} == {anyone}
    assert got[japan[0]] == nobody


def test_created_within_hours(segment, rule, seller, leads, owners):
    a = seller()
    rule(segment(), created_within_hours=24)
    fresh = leads(1)
    old = leads(1, created_at=utcnow() - timedelta(hours=30))
    got = owners(fresh + old)
    assert got == {fresh[0]: a, old[0]: None}


def test_the_higher_priority_segment_owns_the_record(app, tenant, segment, rule, seller, leads,
                                                     owners):
    low_seller, high_seller = seller(), seller()
    low, high = segment(priority=1, name="Low"), segment(TRADE_SHOW, priority=5, name="High")
    rule(low, target="specific", seller_ids=[low_seller])
    rule(high, target="specific", seller_ids=[high_seller])
    both = leads(2, lead_source="Trade show")
    only_low = leads(1, lead_source="Web")
    got = owners(both + only_low)
    assert {got[i] for i in both} == {high_seller}
    assert got[only_low[0]] == low_seller
    with app.app_context(), tenant_context(tenant.id):
        logged = [tuple(row) for row in db.session.execute(
            select(AssignmentLog.segment_id, AssignmentLog.record_id))]
    assert sorted(logged) == sorted([(high, r) for r in both] + [(low, only_low[0])])


def test_higher_priority_segment_without_rules_still_owns_the_record(segment, rule, seller,
                                                                     leads, owners):
    seller()
    segment(priority=9)               # no assignment rules
    rule(segment(priority=1))
    assert set(owners(leads(2)).values()) == {None}


def test_records_with_an_owner_are_untouched(segment, rule, seller, leads, owners):
    a, owner = seller(), seller(available=False)
    rule(segment(), target="specific", seller_ids=[a])
    owned = leads(1, owner_id=owner)
    assert owners(owned) == {owned[0]: owner}


def test_the_assignment_is_logged(app, tenant, segment, rule, seller, leads):
    a = seller()
    s = segment()
    r = rule(s)
    ids = leads(2)
    with app.app_context(), tenant_context(tenant.id):
        logs = db.session.execute(select(AssignmentLog).order_by(AssignmentLog.record_id)
                                  ).scalars().all()
        assert [(x.record_id, x.segment_id, x.rule_id, x.user_id) for x in logs] == [
            (ids[0], s, r, a), (ids[1], s, r, a)]
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "segment.records_assigned")).scalar_one()
        assert event.details["count"] == 2


def test_assign_records_directly_is_idempotent(app, tenant, segment, rule, seller, leads):
    seller()
    s = segment()
    rule(s)
    ids = leads(3)
    with app.app_context(), tenant_context(tenant.id):
        assert assignment.assign_records(s, ids) == 0   # already owned


# The page

@pytest.fixture
def manager_client(client, make_user, tenant, login):
    manager = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    assert login(client, manager).status_code == 302
    return client


def _rules(app, tenant, segment_id):
    with app.app_context(), tenant_context(tenant.id):
        return [(r.name, r.position) for r in assignment.rules_of(segment_id)]


def test_add_a_rule_with_a_validation_error_then_fixed(app, tenant, manager_client, segment,
                                                       seller):
    a = seller()
    s = segment()
    url = f"/acme/segments/{s}/assignment"
    assert manager_client.get(url).status_code == 200
    bad = manager_client.post(url, data={
        "name": "Shows", "conditions-0-field": "lead_source", "conditions-0-operator": "equals",
        "conditions-0-value": "Carrier pigeon", "target": "specific",
        "distribution": "round_robin", "created_within_hours": "0"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "is not one of" in page
    assert "1 or more" in page
    assert "Choose at least one seller." in page       # every problem shown at once
    no_seller = manager_client.post(url, data={"name": "Shows", "target": "specific",
                                               "distribution": "round_robin"})
    assert "Choose at least one seller." in no_seller.get_data(as_text=True)
    assert _rules(app, tenant, s) == []
    ok = manager_client.post(url, data={
        "name": "Shows", "conditions-0-field": "lead_source", "conditions-0-operator": "equals",
        "conditions-0-value": "Trade show", "target": "specific", "seller_ids": [str(a)],
        "distribution": "load_balancing", "created_within_hours": "48"})
    assert ok.status_code == 302
    with app.app_context(), tenant_context(tenant.id):
        r = db.session.execute(select(AssignmentRule)).scalar_one()
        assert r.conditions == TRADE_SHOW
        assert (r.target, r.seller_ids, r.distribution, r.created_within_hours) == (
            "specific", [a], "load_balancing", 48)
    assert "Lead source equals Trade show" in manager_client.get(url).get_data(as_text=True)


def test_move_and_delete_rules(app, tenant, manager_client, segment, rule):
    s = segment()
    one, two, three = rule(s, name="One"), rule(s, name="Two"), rule(s, name="Three")
    base = f"/acme/segments/{s}/assignment"
    assert manager_client.post(f"{base}/{three}/move", data={"direction": "up"}).status_code == 302
    assert _rules(app, tenant, s) == [("One", 0), ("Three", 1), ("Two", 2)]
    manager_client.post(f"{base}/{one}/move", data={"direction": "up"})   # already first
    assert _rules(app, tenant, s) == [("One", 0), ("Three", 1), ("Two", 2)]
    assert manager_client.post(f"{base}/{one}/delete").status_code == 302
    assert _rules(app, tenant, s) == [("Three", 0), ("Two", 1)]
    other = segment()
    assert manager_client.post(f"/acme/segments/{other}/assignment/{two}/delete").status_code \
        == 404
    assert _rules(app, tenant, s) == [("Three", 0), ("Two", 1)]


def test_a_seller_cannot_edit_rules(client, make_user, tenant, login, segment):
    s = segment()
    login(client, make_user(tenant, roles=[Role.SELLER]))
    assert client.get(f"/acme/segments/{s}/assignment").status_code == 403


def test_availability_switch(app, tenant, client, make_user, login, segment, rule, leads,
                             owners, seller):
    me = make_user(tenant, roles=[Role.SELLER])
    other = seller()
    login(client, me)
    assert "You are available" in client.get("/acme/account/availability").get_data(as_text=True)
    assert client.post("/acme/account/availability").status_code == 302
    assert "You are unavailable" in client.get("/acme/account/availability").get_data(
        as_text=True)
    rule(segment())
    assert set(owners(leads(2)).values()) == {other}
    client.post("/acme/account/availability")
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(User.available).where(User.id == me.id)).scalar_one()


def test_time_zone_setting(app, tenant, client, make_user, login):
    me = make_user(tenant, roles=[Role.SELLER])
    login(client, me)
    page = client.get("/acme/account/availability").get_data(as_text=True)
    assert 'name="time_zone" value="UTC"' in page
    bad = client.post("/acme/account/time-zone", data={"time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert "“Mars/Olympus” is not a time zone" in bad.get_data(as_text=True)
    assert client.post("/acme/account/time-zone",
                       data={"time_zone": "Europe/Paris"}).status_code == 302
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(User.time_zone).where(User.id == me.id)
                                  ).scalar_one() == "Europe/Paris"
