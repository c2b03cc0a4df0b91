"""Reassign while away: a seller's open activities go to the colleague who covers on the first
day of the leave and come back the day after it ends; what the colleague finished stays theirs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from saas.auth.models import User
from saas.engine.models import Enrollment, StepRun
from saas.sellers import cover, services
from saas.sellers.models import CoverMove, TimeOff
from saas.worklist import services as worklist
from tests.worklist import factories as f

MONDAY = date(2027, 3, 1)
LEAVE_ENDS = date(2027, 3, 3)  # Wednesday, the last day away


def _at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _open_activities(session, seller_id: int) -> list[int]:
    return sorted(session.execute(select(StepRun.id).where(
        StepRun.seller_id == seller_id, StepRun.status == "open")).scalars())


def _leave(world, starts_on=MONDAY, ends_on=LEAVE_ENDS) -> int:
    with world.data() as session:
        leave = TimeOff(user_id=world.seller.id, starts_on=starts_on, ends_on=ends_on,
                        cover_id=world.other.id, status="planned", note="Holiday")
        session.add(leave)
        session.flush()
        return leave.id


def test_round_trip_out_on_the_first_day_back_the_day_after(world):
    with world.data() as session:
        session.execute(update(User).where(User.id == world.seller.id)
                        .values(time_zone="Europe/Paris"))
        seq = f.sequence([{"type": "task", "name": "Call"}, {"type": "task", "name": "Follow up"}])
        enrollments = [f.connect(f.lead(), seq, world.seller.id).id for _ in range(3)]
        olga_own = f.connect(f.lead(), seq, world.other.id).id
        sams = _open_activities(session, world.seller.id)
    assert len(sams) == 3
    leave_id = _leave(world)

    with world.data() as session:  # Sunday evening in Paris: not yet
        cover.hand_over_due(_at(MONDAY - timedelta(days=1), 20))
        assert _open_activities(session, world.seller.id) == sams
    with world.data() as session:  # Monday 00:30 in Paris (Sunday 23:30 UTC): the first day
        cover.hand_over_due(datetime(2027, 2, 28, 23, 30, tzinfo=UTC))
    with world.data() as session:
        assert _open_activities(session, world.seller.id) == []
        olgas = _open_activities(session, world.other.id)
        assert set(sams) < set(olgas)
        assert {e.seller_id for e in session.execute(select(Enrollment).where(
            Enrollment.id.in_(enrollments))).scalars()} == {world.other.id}
        assert session.execute(select(TimeOff.status).where(TimeOff.id == leave_id)).scalar() \
            == "out"
        # a second hand-over the same day moves nothing twice
        assert cover.move_out(session.get(TimeOff, leave_id)) == (0, 0)

    # Olga completes one of Sam's activities meanwhile: its next step comes up for her.
    with world.data():
        assert worklist.complete(sams[0], world.other.id)
    with world.data() as session:
        follow_up = f.current_run(enrollments[0])
        assert (follow_up.step_type, follow_up.seller_id) == ("task", world.other.id)
        follow_up_id = follow_up.id
        cover.hand_over_due(_at(LEAVE_ENDS, 20))  # still away on the last day
        assert _open_activities(session, world.seller.id) == []

    with world.data():  # Thursday: back
        cover.hand_over_due(_at(LEAVE_ENDS + timedelta(days=1)))
    with world.data() as session:
        back = _open_activities(session, world.seller.id)
        assert back == sorted([*sams[1:], follow_up_id])
        done = session.execute(select(StepRun).where(StepRun.id == sams[0])).scalar_one()
        assert (done.status, done.seller_id, done.completed_by_id) == \
            ("completed", world.other.id, world.other.id)
        assert {e.id: e.seller_id for e in session.execute(select(Enrollment).where(
            Enrollment.id.in_([*enrollments, olga_own]))).scalars()} == {
            **dict.fromkeys(enrollments, world.seller.id), olga_own: world.other.id}
        assert _open_activities(session, world.other.id) == [f.current_run(olga_own).id]
        assert cover.summaries([leave_id])[leave_id] == {"activity": 3, "connection": 3,
                                                         "kept": 1, "back": 2}
        outcomes = dict(session.execute(select(CoverMove.object_id, CoverMove.outcome).where(
            CoverMove.kind == "activity", CoverMove.from_seller_id == world.seller.id)).all())
        assert outcomes == {sams[0]: "kept", sams[1]: "back", sams[2]: "back"}
        # and again: nothing moves a second time
        cover.hand_over_due(_at(LEAVE_ENDS + timedelta(days=2)))
        assert _open_activities(session, world.seller.id) == back


def test_an_activity_taken_back_by_hand_meanwhile_is_not_moved(world):
    """Compare-and-set on the way back: a moved activity a manager gave to a third seller
    stays with that seller."""
    with world.data() as session:
        seq = f.sequence([{"type": "task", "name": "Call"}])
        f.connect(f.lead(), seq, world.seller.id)
        leave_id = _leave(world)
        cover.hand_over_due(_at(MONDAY))
        run_id = _open_activities(session, world.other.id)[0]
        session.execute(update(StepRun).where(StepRun.id == run_id)
                        .values(seller_id=world.manager.id))
    with world.data() as session:
        cover.hand_over_due(_at(LEAVE_ENDS + timedelta(days=1)))
        assert session.execute(select(StepRun.seller_id).where(StepRun.id == run_id)).scalar() \
            == world.manager.id
        assert cover.summaries([leave_id])[leave_id]["kept"] == 1


def test_time_off_starting_today_hands_over_at_once_and_removing_it_gives_back(world):
    with world.data() as session:
        seq = f.sequence([{"type": "task", "name": "Call"}])
        f.connect(f.lead(), seq, world.seller.id)
        seller = session.execute(select(User).where(User.id == world.seller.id)).scalar_one()
        today = datetime.now(UTC).date()
        leave = services.add_time_off(seller, starts_on=today, ends_on=today + timedelta(days=2),
                                      cover_id=world.other.id)
        assert len(_open_activities(session, world.other.id)) == 1
        services.remove_time_off(leave, seller)
        assert len(_open_activities(session, world.seller.id)) == 1
        assert session.execute(select(TimeOff)).first() is None
