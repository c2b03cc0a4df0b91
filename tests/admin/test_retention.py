"""Retention (saas/admin/retention.py): what is older than the tenant's settings is purged or
blanked, what is newer is kept, other tenants are untouched, the work goes in batches, and a
sequence's analytics are the same before and after."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
from rq import Queue
from sqlalchemy import func, insert, select, update

from saas.admin import retention
from saas.admin.models import AuditEvent
from saas.analytics import queries, rollup, snapshots
from saas.auth.models import Tenant
from saas.engine.models import StepRun
from saas.errors import ServiceError
from saas.extensions import db
from saas.messaging.models import MessageEvent, OutboxMessage
from saas.segments.models import Segment, SegmentEvent
from saas.sequences.models import Sequence
from saas.tenancy import current_tenant_id, tenant_context
from saas.timeutil import utcnow
from tests.analytics.history import add_events, add_runs, add_step, enroll, make_sequence

DAY = timedelta(days=1)


@pytest.fixture
def within(app):
    """`with within(tenant):` an app context as that tenant; commits when the block ends."""

    @contextmanager
    def block(tenant):
        with app.app_context(), tenant_context(tenant.id):
            yield
            db.session.commit()

    return block


def _settings(app, tenant, **days):
    with app.app_context():
        row = db.session.execute(select(Tenant).where(Tenant.id == tenant.id)).scalar_one()
        row.settings = {**(row.settings or {}), "retention": days}
        db.session.commit()


def _outbox(age: timedelta, n: int = 1) -> None:
    db.session.execute(insert(OutboxMessage), [
        {"tenant_id": current_tenant_id(), "purpose": "sequence", "to_address": f"p{i}@x.example",
         "from_address": "us@x.example", "subject": "Hello", "text_body": "Hi",
         "created_at": utcnow() - age} for i in range(n)])


def _audit(age: timedelta) -> None:
    db.session.execute(insert(AuditEvent), [{
        "tenant_id": current_tenant_id(), "actor_name": "system", "action": "user.invited",
        "target": "someone", "details": {}, "created_at": utcnow() - age}])


def _segment_events(record_id: int, rows: list[tuple[timedelta, timedelta | None]]) -> None:
    """(age of creation, age of consumption or None for pending) per event."""
    segment = Segment(name="Trade show leads", record_type="lead", rules={}, status="active")
    db.session.add(segment)
    db.session.flush()
    now = utcnow()
    db.session.execute(insert(SegmentEvent), [
        {"tenant_id": current_tenant_id(), "segment_id": segment.id, "record_id": record_id,
         "kind": "joined", "created_at": now - created,
         "consumed_at": None if consumed is None else now - consumed}
        for created, consumed in rows])


def _payload(ids: list[int]) -> None:
    db.session.execute(update(MessageEvent).where(MessageEvent.id.in_(ids)).values(
        address="person@example.com", url="https://example.com/offer", data={"text": "Yes!"}))


def _history(add_records, tenant, *, old: timedelta) -> SimpleNamespace:
    """A sequence whose email went out `old` ago, with events then and a call with notes; and the
    same again recently. Returns the sequence id."""
    ids = add_records(tenant, 8, email=lambda i: f"history{i}-{tenant.slug}@example.com")
    now = utcnow()
    sequence = make_sequence("Trade show", settings={"goal": {"field": "status",
                                                               "value": "new"}})
    email = add_step(sequence, "auto_email", "Intro email", position=0)
    call = add_step(sequence, "call", "Follow-up call", position=1)
    result = SimpleNamespace(sequence_id=sequence.id, runs={}, events={})
    for label, age, records in (("old", old, ids[:5]), ("new", 2 * DAY, ids[5:])):
        enrollments = enroll(sequence, records, status="completed", started_at=now - age,
                             ended_at=now - age + DAY)
        pairs = list(zip(enrollments, records, strict=True))
        sent = add_runs(email, pairs[:-1], status="sent", created_at=now - age,
                        completed_at=now - age)
        failed = add_runs(email, pairs[-1:], status="failed", created_at=now - age,
                          completed_at=now - age)
        calls = add_runs(call, pairs[:2], status="completed", created_at=now - age + DAY,
                         completed_at=now - age + DAY)
        db.session.execute(update(StepRun).where(StepRun.id.in_(calls)).values(
            notes="Called, wants a demo"))
        db.session.execute(update(StepRun).where(StepRun.id.in_(sent[:1] + failed)).values(
            error="The provider refused the message."))
        add_events(sent, "delivered", occurred_at=now - age, prefix=label)
        add_events(sent[:2], "open", occurred_at=now - age + DAY, prefix=label)
        add_events(sent[:1], "click", occurred_at=now - age + DAY, prefix=label)
        add_events(sent[1:2], "reply", occurred_at=now - age + DAY, prefix=label)
        events = db.session.execute(select(MessageEvent.id).where(
            MessageEvent.step_run_id.in_(sent))).scalars().all()
        _payload(events)
        result.runs[label] = {"sent": sent, "failed": failed, "calls": calls}
        result.events[label] = events
    return result


def _fill(add_records, tenant, *, old_age: dict[str, timedelta]) -> SimpleNamespace:
    """For each kind, a row older than `old_age[kind]` and a row a few days old."""
    record_id = add_records(tenant, 1)[0]
    _segment_events(record_id, [(old_age["segment_events"] + DAY, old_age["segment_events"]),
                                (old_age["segment_events"] + DAY, None),  # never consumed
                                (3 * DAY, 2 * DAY)])
    _outbox(old_age["outbox"])
    _outbox(3 * DAY)
    _audit(old_age["audit_log"])
    _audit(3 * DAY)
    return _history(add_records, tenant, old=max(old_age["message_event_payloads"],
                                                 old_age["step_run_detail"]))


def _state(history: SimpleNamespace) -> dict:
    """What is left of each kind, read as the tenant in context."""
    def payload(ids):
        return db.session.execute(select(func.count()).where(
            MessageEvent.id.in_(ids), MessageEvent.address.is_not(None),
            MessageEvent.url.is_not(None))).scalar_one()

    def detail(ids):
        return db.session.execute(select(func.count()).where(
            StepRun.id.in_(ids), (StepRun.notes.is_not(None)) | (StepRun.error.is_not(None))))\
            .scalar_one()

    runs = history.runs
    return {
        "segment_events": sorted((e.consumed_at is None) for e in db.session.execute(
            select(SegmentEvent)).scalars()),
        "outbox": db.session.execute(select(func.count(OutboxMessage.id))).scalar_one(),
        "audit_log": db.session.execute(select(func.count(AuditEvent.id))).scalar_one(),
        "events": db.session.execute(select(func.count(MessageEvent.id))).scalar_one(),
        "old_payloads": payload(history.events["old"]),
        "new_payloads": payload(history.events["new"]),
        "runs": db.session.execute(select(func.count(StepRun.id))).scalar_one(),
        "old_detail": detail(runs["old"]["sent"] + runs["old"]["calls"]),
        "old_failed_detail": detail(runs["old"]["failed"]),
        "new_detail": detail(runs["new"]["sent"] + runs["new"]["calls"]),
    }


DEFAULT_OLD = {"segment_events": 31 * DAY, "outbox": 91 * DAY, "audit_log": 366 * DAY,
               "message_event_payloads": 400 * DAY, "step_run_detail": 400 * DAY}
FULL = {"segment_events": [False, False, True], "outbox": 2, "audit_log": 2, "events": 14,
        "old_payloads": 8, "new_payloads": 6, "runs": 12, "old_detail": 3,
        "old_failed_detail": 1, "new_detail": 3}


def test_old_rows_go_newer_stay_and_another_tenant_is_untouched(app, within, make_tenant,
                                                                 add_records):
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    _settings(app, beta, segment_events=3650, outbox=3650, audit_log=3650,
              message_event_payloads=3650, step_run_detail=3650)
    histories = {}
    for tenant in (alpha, beta):
        with within(tenant):
            histories[tenant.slug] = _fill(add_records, tenant, old_age=DEFAULT_OLD)
    with within(alpha):
        assert _state(histories["alpha"]) == FULL

    with app.app_context():
        report = retention.run()
    assert report == {"segment_events": 1, "message_event_payloads": 8, "outbox": 1,
                      "audit_log": 1, "step_run_detail": 3, "left": 0}
    with within(alpha):
        assert _state(histories["alpha"]) == {
            **FULL, "segment_events": [False, True], "outbox": 1, "audit_log": 1,
            "old_payloads": 0, "old_detail": 0}
        blanked = db.session.execute(select(MessageEvent).where(
            MessageEvent.id.in_(histories["alpha"].events["old"]))).scalars().all()
        assert [(e.address, e.url, e.data) for e in blanked] == [(None, None, {})] * 8
        assert sorted(e.kind for e in blanked) == ["click", "delivered", "delivered",
                                                   "delivered", "delivered", "open", "open",
                                                   "reply"]
    with within(beta):  # its own settings keep everything ten years
        assert _state(histories["beta"]) == FULL
    with app.app_context():
        assert retention.run()["left"] == 0
        assert set(retention.pending_work(retention.cutoffs(utcnow()))) == set()


def test_a_tenants_own_settings_are_respected(app, within, make_tenant, add_records):
    tenant = make_tenant("acme")
    _settings(app, tenant, segment_events=1, outbox=2, audit_log=2, message_event_payloads=1,
              step_run_detail=1)
    with within(tenant):
        history = _fill(add_records, tenant, old_age={
            "segment_events": 5 * DAY, "outbox": 5 * DAY, "audit_log": 5 * DAY,
            "message_event_payloads": 5 * DAY, "step_run_detail": 5 * DAY})
    with app.app_context():
        retention.run()
    with within(tenant):
        state = _state(history)
    # The defaults would have kept all of it; the "new" rows (2-3 days) are past 1-2 days too.
    assert state["segment_events"] == [True]
    assert (state["outbox"], state["audit_log"]) == (0, 0)
    assert (state["old_payloads"], state["new_payloads"]) == (0, 0)
    assert (state["old_detail"], state["new_detail"]) == (0, 0)
    assert (state["old_failed_detail"], state["events"], state["runs"]) == (1, 14, 12)


def test_only_tenants_with_something_old_have_work(app, within, make_tenant, add_records):
    busy, quiet = make_tenant("busy"), make_tenant("quiet")
    with within(busy):
        _outbox(100 * DAY)
        _audit(400 * DAY)
    with within(quiet):
        _outbox(3 * DAY)
        _audit(3 * DAY)
    with app.app_context():
        work = retention.pending_work(retention.cutoffs(utcnow()))
    assert sorted((tenant, kind.name) for tenant, kind in work) == [
        (busy.id, "audit_log"), (busy.id, "outbox")]


def test_the_work_goes_in_small_batches_within_a_budget(app, within, make_tenant, add_records,
                                                        monkeypatch):
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    for tenant in (alpha, beta):
        with within(tenant):
            _outbox(100 * DAY, n=5)
            _outbox(3 * DAY, n=2)
    with app.app_context():
        assert retention.run(budget=1e-9) == {**dict.fromkeys(retention.DEFAULT_DAYS, 0),
                                              "left": 2}  # nothing done, both carried over
    batches = []
    purge = retention.purge_batch

    def counted(tenant_id, kind, cutoff, limit):
        done = purge(tenant_id, kind, cutoff, limit)
        batches.append((tenant_id, done))
        return done

    monkeypatch.setattr(retention, "purge_batch", counted)
    with app.app_context():
        report = retention.run(batch=2)
    assert report["outbox"] == 10 and report["left"] == 0
    for tenant in (alpha, beta):  # 2, 2, 1: the last short batch says there is no more
        assert [done for tid, done in batches if tid == tenant.id] == [2, 2, 1]
        with within(tenant):
            assert db.session.execute(select(func.count(OutboxMessage.id))).scalar_one() == 2
    # Round-robin: each tenant has its first batch before either has a second.
    assert {tid for tid, _ in batches[:2]} == {alpha.id, beta.id}


def _figures(sequence_id: int) -> tuple:
    sequence = db.session.execute(select(Sequence).where(Sequence.id == sequence_id)).scalar_one()
    now = utcnow()
    computed = rollup.compute(sequence, now).as_dict()
    computed.pop("computed_at")
    period = queries.Period.parse("all", now)
    summary, activity, _ = snapshots.figures(sequence, sequence, period, now, fresh=True)
    steps = [(row.label, row.reached, row.completed, row.skipped, row.failed, row.overdue,
              row.events) for row in activity.steps]
    return computed, summary, steps, activity.days


def test_analytics_keep_their_figures(app, within, make_tenant, add_records):
    tenant = make_tenant("acme")
    with within(tenant):
        history = _fill(add_records, tenant, old_age=DEFAULT_OLD)
        before = _figures(history.sequence_id)
        assert before[2][0][1:] == (8, 6, 0, 2, 0, {"delivered": 6, "opened": 4, "clicked": 2,
                                                     "replied": 2})
        assert before[2][1][1:3] == (4, 4)  # the calls, with notes
        assert before[1].connected == 8 and before[1].goal_reached == 8
    with app.app_context():
        report = retention.run()
    assert report["message_event_payloads"] == 8 and report["step_run_detail"] == 3
    with within(tenant):
        assert _figures(history.sequence_id) == before


def test_settings_are_read_validated_and_written(app, within, make_tenant):
    days = retention.retention_days({"retention": {
        "segment_events": 7, "outbox": 0, "audit_log": -5, "message_event_payloads": "30",
        "step_run_detail": True}})
    assert days == {**retention.DEFAULT_DAYS, "segment_events": 7}
    assert retention.retention_days({"retention": {"outbox": 3651}}) == retention.DEFAULT_DAYS
    assert retention.retention_days({"retention": "forever"}) == retention.DEFAULT_DAYS
    assert retention.retention_days(None) == retention.DEFAULT_DAYS

    tenant = make_tenant("acme")
    with within(tenant):
        assert retention.set_retention({"outbox": 30})["outbox"] == 30
        for bad in ({"outbox": 0}, {"audit_log": 100_000}, {"outbox": "30"}, {"forever": 5}):
            with pytest.raises(ServiceError):
                retention.set_retention(bad)
        settings = db.session.execute(select(Tenant.settings).where(
            Tenant.id == tenant.id)).scalar_one()
        assert settings["retention"] == {**retention.DEFAULT_DAYS, "outbox": 30}
        audit = db.session.execute(select(AuditEvent)).scalars().all()
        assert [(a.action, a.details) for a in audit] == [
            ("retention.settings_saved", {"outbox": 30})]


def test_the_job_is_enqueued_once_per_interval_and_runs_in_a_worker(app, within, make_tenant,
                                                                    redis_conn):
    from worker.runner import AppWorker

    tenant = make_tenant("acme")
    with within(tenant):
        _outbox(100 * DAY, n=3)
    with app.app_context():
        assert retention.periodic() is True
        assert retention.periodic() is False  # at most once per RETENTION_SECONDS
        assert 0 < redis_conn.ttl(retention.GATE_KEY) <= 3600
    AppWorker([Queue(retention.QUEUE, connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    with within(tenant):
        assert db.session.execute(select(func.count(OutboxMessage.id))).scalar_one() == 0
    with app.app_context():
        assert retention.last_report()["outbox"] == 3


def test_the_job_is_a_tick_task():
    from saas.jobs import periodic_tasks

    assert retention.periodic in periodic_tasks()
