"""A/B tests: assignment, lifecycle, decisions and what later records get."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from saas.auth.models import Role
from saas.engine import abtests
from saas.engine.ab_split import choose_version
from saas.engine.models import AbTest, StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Step
from saas.timeutil import utcnow
from tests.analytics.history import ab_config, ab_sends, add_step, enroll, make_sequence


def _test(step_id: int) -> AbTest:
    return db.session.execute(select(AbTest).where(AbTest.step_id == step_id)).scalar_one()


def _step(step_id: int) -> Step:
    return db.session.execute(select(Step).where(Step.id == step_id)).scalar_one()


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("acme")


def _running_step(within, tenant, **config) -> int:
    with within(tenant):
        sequence = make_sequence(settings=config.pop("settings", None))
        step = add_step(sequence, "ab_test", "A/B", position=0, config=ab_config(**config))
        abtests.start_tests(sequence.id)
        return step.id


def test_assignment_is_deterministic_and_follows_the_split(within, tenant):
    step_id = _running_step(within, tenant, split_a=30)
    with within(tenant):
        step = _step(step_id)
        ids = list(range(1, 20_001))
        batch = abtests.versions_for(step, ids)  # the batch path's: one query for all
        first = [batch[rid] for rid in ids]
        repeat = abtests.versions_for(step, ids)
        again = [repeat[rid] for rid in ids]
        alone = [abtests.version_for(step, rid) for rid in ids[:500]]  # one query each
    assert first == again
    assert alone == first[:500]
    share_a = first.count("A") / len(first)
    assert 0.29 <= share_a <= 0.31, share_a
    assert first == [choose_version(step_id, rid, 30) for rid in range(1, 20_001)]


def test_start_tests_creates_running_tests_once(within, tenant):
    with within(tenant):
        sequence = make_sequence(status="draft")
        step = add_step(sequence, "ab_test", "A/B", position=0, config=ab_config())
        add_step(sequence, "wait", "Wait", position=1, config={"days": 1, "hours": 0})
        assert not abtests.ab_settings_locked(step)
        started = abtests.start_tests(sequence.id)
        assert [t.step_id for t in started] == [step.id]
        assert abtests.start_tests(sequence.id) == []  # a second activation changes nothing
        test = _test(step.id)
        assert test.status == "running" and test.started_at is not None
        assert abtests.ab_settings_locked(step)


def test_display_name_locks_once_active_with_connected_records(within, tenant, add_records):
    record_ids = add_records(tenant, 1)
    with within(tenant):
        sequence = make_sequence(status="active")
        step = add_step(sequence, "ab_test", "A/B", position=0, config=ab_config())
        abtests.start_tests(sequence.id)
        assert abtests.ab_settings_locked(step)
        assert not abtests.ab_name_locked(step)
        enroll(sequence, record_ids)
        assert abtests.ab_name_locked(step)


def test_a_clear_winner_is_declared_and_sent_to_later_records(within, tenant, add_records):
    step_id = _running_step(within, tenant, default_version="A")
    record_ids = add_records(tenant, 800)
    with within(tenant):
        sends = ab_sends(_step(step_id), record_ids, {"A": 12, "B": 60})
        assert min(len(sends["A"]), len(sends["B"])) >= 300
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id)
        assert (test.status, test.outcome, test.winner) == ("completed", "winner", "B")
        assert test.decided_at is not None
        stats = test.stats
        assert stats["versions"]["A"]["conversions"] == 12
        assert stats["versions"]["B"]["conversions"] == 60
        assert stats["versions"]["A"]["sends"] == len(sends["A"])
        assert stats["p_value"] < 0.05 and stats["outcome"] == "winner"
        step = _step(step_id)
        assert {abtests.version_for(step, rid) for rid in range(10_000, 10_200)} == {"B"}
    with within(tenant):  # evaluating again (a second worker) changes nothing
        before = dict(_test(step_id).stats)
        abtests.evaluate(_test(step_id).id)
        assert _test(step_id).stats == before


def test_sends_count_only_after_their_observation_window(within, tenant, add_records):
    step_id = _running_step(within, tenant, settings={"ab_observation_hours": 48})
    record_ids = add_records(tenant, 600)
    with within(tenant):
        ab_sends(_step(step_id), record_ids, {"A": 5, "B": 80}, sent_at=utcnow() - timedelta(
            hours=30))
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id)
        assert test.status == "running" and test.outcome is None
        assert test.stats["versions"]["A"]["sends"] == 0
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id, at=abtests.now() + timedelta(hours=19))
        assert test.outcome == "winner" and test.winner == "B"


def test_no_decision_below_100_sends_per_version(within, tenant, add_records):
    step_id = _running_step(within, tenant)
    record_ids = add_records(tenant, 150)
    with within(tenant):
        sends = ab_sends(_step(step_id), record_ids, {"A": 0, "B": 40})
        assert min(len(sends["A"]), len(sends["B"])) < 100
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id)
        assert test.status == "running" and test.stats["p_value"] == 1.0


def test_inconclusive_after_30_days_sends_the_default_version(within, tenant, add_records):
    step_id = _running_step(within, tenant, default_version="B")
    record_ids = add_records(tenant, 400)
    with within(tenant):
        ab_sends(_step(step_id), record_ids, {"A": 20, "B": 20})
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id)
        assert test.status == "running"
        step = _step(step_id)
        assert {abtests.version_for(step, rid) for rid in range(1, 200)} == {"A", "B"}
        later = abtests.now() + timedelta(days=30, minutes=1)  # 30 days after the start
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id, at=later)
        assert (test.status, test.outcome, test.winner) == ("completed", "inconclusive", "B")
        assert test.stats["versions"]["A"]["conversions"] == 20
        step = _step(step_id)
        assert {abtests.version_for(step, rid) for rid in range(1, 200)} == {"B"}


def test_default_version_after_the_end_date_before_the_job_runs(within, tenant):
    end = (utcnow() - timedelta(minutes=5)).isoformat()
    step_id = _running_step(within, tenant, ends="at", end_at=end, default_version="B")
    with within(tenant):
        step = _step(step_id)
        assert _test(step_id).status == "running"
        assert {abtests.version_for(step, rid) for rid in range(1, 100)} == {"B"}
    with within(tenant):  # the job then records the outcome: inconclusive at the end date
        test = abtests.evaluate(_test(step_id).id)
        assert (test.status, test.outcome, test.winner) == ("completed", "inconclusive", "B")


def test_a_test_ending_at_a_date_runs_until_then(within, tenant, add_records):
    end = utcnow() + timedelta(days=2)
    step_id = _running_step(within, tenant, ends="at", end_at=end.isoformat())
    record_ids = add_records(tenant, 600)
    with within(tenant):
        ab_sends(_step(step_id), record_ids, {"A": 5, "B": 80})
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id)
        assert test.status == "running" and test.stats["p_value"] < 0.05
    with within(tenant):  # past the end, before the job looks: the significant leader
        from saas.engine import clock
        clock.set_offset(timedelta(days=2, minutes=1).total_seconds())
        step = _step(step_id)
        assert {abtests.version_for(step, rid) for rid in range(1, 100)} == {"B"}
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id, at=end + timedelta(minutes=1))
        assert (test.outcome, test.winner) == ("winner", "B")


def test_goal_metric_counts_records_that_meet_the_goal(within, tenant, add_records):
    step_id = _running_step(within, tenant, metric="goal",
                            settings={"goal": {"field": "status", "value": "qualified"}})
    record_ids = add_records(tenant, 500)
    with within(tenant):
        sends = ab_sends(_step(step_id), record_ids, {})
    with within(tenant):
        qualified = sends["B"][:70]
        rids = db.session.execute(select(StepRun.record_id).where(
            StepRun.id.in_(qualified))).scalars().all()
        db.session.execute(update(Record).where(Record.id.in_(rids)).values(status="qualified"))
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id)
        assert test.stats["versions"]["B"]["conversions"] == 70
        assert test.stats["versions"]["A"]["conversions"] == 0
        assert (test.outcome, test.winner) == ("winner", "B")


def test_opens_metric_reads_open_events(within, tenant, add_records):
    step_id = _running_step(within, tenant, metric="opens")
    record_ids = add_records(tenant, 400)
    with within(tenant):
        ab_sends(_step(step_id), record_ids, {"A": 30, "B": 31}, kind="open")
    with within(tenant):
        test = abtests.evaluate(_test(step_id).id)
        assert test.stats["versions"]["A"]["conversions"] == 30
        assert test.stats["metric"] == "opens" and test.status == "running"


def test_stopping_chooses_the_version_and_cannot_be_undone(within, tenant):
    step_id = _running_step(within, tenant)
    with within(tenant):
        test = abtests.stop_test(_test(step_id).id, "B", user_id=None)
        assert (test.status, test.outcome, test.winner) == ("stopped", "stopped", "B")
        step = _step(step_id)
        assert {abtests.version_for(step, rid) for rid in range(1, 100)} == {"B"}
    with within(tenant):
        with pytest.raises(abtests.AbTestError):
            abtests.stop_test(_test(step_id).id, "A", user_id=None)
        with pytest.raises(abtests.AbTestError):
            abtests.stop_test(_test(step_id).id, "C", user_id=None)
        assert abtests.evaluate(_test(step_id).id).status == "stopped"  # the job leaves it


def test_a_completed_test_is_not_restarted_by_a_new_activation(within, tenant):
    step_id = _running_step(within, tenant)
    with within(tenant):
        abtests.stop_test(_test(step_id).id, "A", user_id=None)
    with within(tenant):
        assert abtests.start_tests(_step(step_id).sequence_id) == []
        assert _test(step_id).status == "stopped"


def test_the_periodic_job_evaluates_every_tenant_once_per_interval(
        app, within, make_tenant, add_records, redis_conn):
    from rq import Queue

    from saas.analytics import periodic
    from worker.runner import AppWorker

    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    steps = {}
    for tenant, (a, b) in ((alpha, (8, 60)), (beta, (30, 31))):
        steps[tenant.slug] = _running_step(within, tenant)
        record_ids = add_records(tenant, 700)
        with within(tenant):
            ab_sends(_step(steps[tenant.slug]), record_ids, {"A": a, "B": b})
    with app.app_context():
        assert periodic.enqueue_periodic() is True
        assert periodic.enqueue_periodic() is False  # at most once per interval
    AppWorker([Queue(periodic.QUEUE, connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    with within(alpha):
        assert _test(steps["alpha"]).outcome == "winner"
        assert _test(steps["alpha"]).stats["looks"] == 1
    with within(beta):
        assert _test(steps["beta"]).status == "running"
        assert _test(steps["beta"]).stats["versions"]["B"]["conversions"] == 31
    keys = sorted(k.decode() for k in redis_conn.keys("saas:analytics:*:*"))
    assert len(keys) == 2  # both sequences' analytics snapshots computed ahead


def test_a_running_tests_settings_cannot_be_edited(within, tenant):
    """The designer refuses to change the running version's A/B step; editing makes a new
    version whose step has no running test (its own test starts when it is activated)."""
    from saas.errors import ServiceError
    from saas.sequences import editing, services
    from saas.sequences.models import Sequence

    step_id = _running_step(within, tenant, split_a=30)
    with within(tenant):
        step = _step(step_id)
        sequence = db.session.execute(
            select(Sequence).where(Sequence.id == step.sequence_id)).scalar_one()
        assert abtests.ab_settings_locked(step)
        with pytest.raises(ServiceError):
            editing.save_step(sequence, step, name="Renamed", description="",
                              config=ab_config(split_a=70, display_name="Renamed"))
    with within(tenant):
        step = _step(step_id)
        assert step.config["split_a"] == 30 and step.config["display_name"] != "Renamed"
        sequence = db.session.execute(
            select(Sequence).where(Sequence.id == step.sequence_id)).scalar_one()
        draft = services.edit_version(sequence)
        new_step = db.session.execute(select(Step).where(
            Step.sequence_id == draft.id, Step.type == "ab_test")).scalar_one()
        assert new_step.id != step_id and not abtests.ab_settings_locked(new_step)
        assert _test(step_id).status == "running"


def test_records_reaching_the_step_through_the_engine_get_the_winner(within, tenant, make_user,
                                                                    add_records):
    """Through the engine's connect/advance: a mix of A and B while the test runs, only the
    winner once it is decided; the version is stored on the step run."""
    from saas.engine.connect import connect_record

    seller = make_user(tenant, roles=[Role.SELLER])
    step_id = _running_step(within, tenant)
    seeded, before, after = add_records(tenant, 700), add_records(
        tenant, 40, email=lambda i: f"before{i}@acme.example"), add_records(
        tenant, 40, email=lambda i: f"after{i}@acme.example")

    def connect(record_ids) -> list[str]:
        with within(tenant):
            lineage = _step(step_id).sequence_id
            for record in db.session.execute(select(Record).where(Record.id.in_(record_ids))) \
                    .scalars():
                connect_record(record, lineage, seller_id=seller.id)
            db.session.flush()
            return list(db.session.execute(select(StepRun.ab_version).where(
                StepRun.step_id == step_id, StepRun.record_id.in_(record_ids))).scalars())

    versions = connect(before)
    assert len(versions) == 40 and set(versions) == {"A", "B"}
    with within(tenant):
        ab_sends(_step(step_id), seeded, {"A": 8, "B": 60})
    with within(tenant):
        assert abtests.evaluate(_test(step_id).id).winner == "B"
    assert connect(after) == ["B"] * 40


def test_two_workers_evaluating_at_once_take_turns(app, within, tenant, add_records):
    """The second evaluation waits for the first's row lock, then finds the test decided and
    changes nothing (one look, one decision time)."""
    import threading

    from saas.tenancy import tenant_context

    step_id = _running_step(within, tenant)
    record_ids = add_records(tenant, 700)
    with within(tenant):
        ab_sends(_step(step_id), record_ids, {"A": 8, "B": 60})
        test_id = _test(step_id).id
    decided, release = threading.Event(), threading.Event()
    results = []

    def evaluate(hold: bool) -> None:
        with app.app_context(), tenant_context(tenant.id):
            test = abtests.evaluate(test_id)
            results.append((test.outcome, test.decided_at, test.stats["looks"]))
            if hold:
                decided.set()
                release.wait(10)
            db.session.commit()

    one = threading.Thread(target=evaluate, args=(True,))
    one.start()
    assert decided.wait(20)
    two = threading.Thread(target=evaluate, args=(False,))
    two.start()
    two.join(1)
    assert two.is_alive()  # waits for the first one's lock on the test
    release.set()
    one.join(20)
    two.join(20)
    assert len(results) == 2 and results[0] == results[1]
    assert results[0][0] == "winner" and results[0][2] == 1
