"""Assignment skips sellers who are away or full; records left with nobody wait, with the
reason, and are assigned when a seller comes back or frees a slot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select, update

from saas.auth.models import Role, User
from saas.engine.models import ConnectJob, Enrollment, StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.segments import assignment
from saas.segments.membership import refresh_records
from saas.segments.models import AssignmentWait, Segment
from saas.sellers import services, waiting
from saas.sellers.models import TimeOff
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.worklist import factories as f

EVERY_LEAD = {"op": "and", "rules": [{"field": "last_name", "operator": "is_not_empty"}]}
AWAY_OR_FULL = "Waiting for a seller: everyone in “Everyone” is away or full."


@pytest.fixture
def team(app, make_tenant, make_user):
    """Anna away (time off today), Bruno full (capacity 1, one open lead), Chloe free
    (capacity 2); a segment of every lead whose one rule assigns to any seller."""
    tenant = make_tenant("acme", name="Acme")
    anna, bruno, chloe = (make_user(tenant, roles=[Role.SELLER], name=n)
                          for n in ("Anna", "Bruno", "Chloe"))
    manager = make_user(tenant, roles=[Role.SEQUENCE_MANAGER], name="Mia")
    today = utcnow().date()
    with app.app_context(), tenant_context(tenant.id):
        db.session.add(TimeOff(user_id=anna.id, starts_on=today - timedelta(days=1),
                               ends_on=today + timedelta(days=3), status="planned"))
        db.session.execute(update(User).where(User.id == bruno.id).values(capacity=1))
        db.session.execute(update(User).where(User.id == chloe.id).values(capacity=2))
        db.session.add(f.lead(owner_id=bruno.id, status="new", last_name="Held"))
        segment = Segment(name="All leads", status="active", rules=EVERY_LEAD,
                          record_type="lead")
        db.session.add(segment)
        db.session.flush()
        assignment.add_rule(segment, name="Everyone", conditions=None, target="any")
        db.session.commit()
        segment_id = segment.id

    def leads(n):
        with app.app_context(), tenant_context(tenant.id):
            now = utcnow()
            ids = db.session.execute(insert(Record).returning(Record.id), [
                {"tenant_id": tenant.id, "record_type": "lead", "first_name": "P",
                 "last_name": f"New{i}", "status": "new", "custom": {}, "time_zone": "UTC",
                 "created_at": now, "updated_at": now} for i in range(n)]).scalars().all()
            refresh_records(ids)
            db.session.commit()
            return ids

    def owners(ids):
        with app.app_context(), tenant_context(tenant.id):
            return dict(db.session.execute(select(Record.id, Record.owner_id)
                                           .where(Record.id.in_(ids))).all())

    def as_tenant():
        return tenant_context(tenant.id)

    return type("Team", (), dict(tenant=tenant, anna=anna, bruno=bruno, chloe=chloe,
                                 manager=manager, leads=staticmethod(leads),
                                 owners=staticmethod(owners), segment_id=segment_id,
                                 as_tenant=staticmethod(as_tenant)))


def test_away_and_full_sellers_are_skipped_then_records_wait_then_are_assigned(
        app, team, login):
    first = team.leads(2)
    assert set(team.owners(first).values()) == {team.chloe.id}  # Anna away, Bruno full

    waiting_ids = team.leads(2)  # Chloe is full now too
    assert set(team.owners(waiting_ids).values()) == {None}
    with app.app_context(), team.as_tenant():
        assert waiting.reasons_for(waiting_ids) == dict.fromkeys(waiting_ids, AWAY_OR_FULL)
        # one of them is connected to a sequence meanwhile: it waits for a seller too
        seq = f.sequence([{"type": "task", "name": "Call"}])
        record = db.session.execute(select(Record).where(Record.id == waiting_ids[0])
                                    ).scalar_one()
        db.session.add(Enrollment(record_id=record.id, sequence_id=seq.id,
                                  lineage_id=seq.lineage_id, status="active", steps_done=0))
        db.session.add(ConnectJob(sequence_id=seq.id, segment_id=team.segment_id,
                                  status="done", total=4, done=4, connected=4,
                                  needs_seller=2))
        db.session.commit()
        lineage = seq.lineage_id

    client = app.test_client()
    login(client, team.manager)
    page = client.get(f"/acme/records/{waiting_ids[0]}").get_data(as_text=True)
    assert AWAY_OR_FULL in page
    connected = client.get(f"/acme/sequences/{lineage}/connected?status=unassigned")
    html = connected.get_data(as_text=True)
    assert html.count(AWAY_OR_FULL) == 2  # the connect job's line and the record's row

    # Bruno's lead is qualified: he has a free slot, the periodic task gives him one record.
    with app.app_context(), team.as_tenant():
        db.session.execute(update(Record).where(Record.last_name == "Held")
                           .values(status="qualified"))
        db.session.commit()
    with app.app_context():
        assert waiting.periodic(force=True) == 1
    after = team.owners(waiting_ids)
    assert sorted(after.values(), key=str) == sorted([team.bruno.id, None], key=str)
    assert after[waiting_ids[0]] == team.bruno.id
    with app.app_context(), team.as_tenant():
        # its connection took the new owner and started: Bruno's activity is on his worklist
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
        assert enrollment.seller_id == team.bruno.id
        assert db.session.execute(select(StepRun.seller_id, StepRun.status)).one() == \
            (team.bruno.id, "open")
        assert db.session.execute(select(AssignmentWait.record_id)).scalars().all() == \
            [waiting_ids[1]]

    # Anna comes back (her time off removed): the last record goes to her at once.
    with app.app_context(), team.as_tenant():
        leave = db.session.execute(select(TimeOff)).scalar_one()
        anna = db.session.execute(select(User).where(User.id == team.anna.id)).scalar_one()
        services.remove_time_off(leave, anna)
        db.session.commit()
        assert db.session.execute(select(AssignmentWait)).first() is None
    assert team.owners(waiting_ids)[waiting_ids[1]] == team.anna.id


def test_when_everyone_is_away_the_reason_says_so(app, team):
    with app.app_context(), team.as_tenant():
        db.session.execute(update(User).where(User.id.in_([team.bruno.id, team.chloe.id]))
                           .values(available=False))
        db.session.commit()
    ids = team.leads(1)
    assert team.owners(ids) == {ids[0]: None}
    with app.app_context(), team.as_tenant():
        assert waiting.reasons_for(ids) == {
            ids[0]: "Waiting for a seller: everyone in “Everyone” is away."}
        # the seller switches back: the next periodic turn assigns the record
        db.session.execute(update(User).where(User.id == team.chloe.id).values(available=True))
        db.session.commit()
    with app.app_context():
        waiting.periodic(force=True)
    assert team.owners(ids) == {ids[0]: team.chloe.id}


def test_a_seller_on_time_off_in_their_own_zone(app, team):
    """Time off is in the seller's own days: away from their local midnight."""
    with app.app_context(), team.as_tenant():
        from saas.sellers.availability import away_ids

        db.session.execute(update(User).where(User.id == team.chloe.id)
                           .values(time_zone="Pacific/Auckland"))
        db.session.commit()
        chloe = db.session.execute(select(User).where(User.id == team.chloe.id)).scalar_one()
        from datetime import UTC, date, datetime

        db.session.add(TimeOff(user_id=chloe.id, starts_on=date(2027, 5, 10),
                               ends_on=date(2027, 5, 10), status="planned"))
        db.session.flush()
        # 12:30 UTC on 9 May is 00:30 on 10 May in Auckland
        assert chloe.id in away_ids([chloe], datetime(2027, 5, 9, 12, 30, tzinfo=UTC))
        assert chloe.id not in away_ids([chloe], datetime(2027, 5, 9, 11, 30, tzinfo=UTC))
        db.session.rollback()


def test_load_is_counted_in_one_query_whatever_the_number_of_sellers(app, team, make_user):
    for i in range(6):
        make_user(team.tenant, roles=[Role.SELLER], name=f"Extra {i}")
    statements = []

    def count(conn, cursor, statement, *args):
        if "count(" in statement.lower() and "record" in statement.lower():
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        team.leads(3)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if "owner_id" in s]) == 1
