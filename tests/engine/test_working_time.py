"""Waits counted in working time (saas/engine/working_time.py), across daylight-saving changes.

The expected instants are written out by hand (tzdata 2026): Europe/Paris springs forward on
Sunday 2027-03-28 at 02:00 CET (01:00 UTC) to 03:00 CEST, and Easter Monday is 2027-03-29 (a
French public holiday, from the `holidays` package's preset). So Friday 2027-03-26 15:00 CET is
14:00 UTC, and Wednesday 2027-03-31 15:00 CEST is 13:00 UTC: 4 days and 23 hours later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, update

from saas.auth.models import Tenant
from saas.calendars import services as calendar_services
from saas.calendars.models import Calendar, ClosureDay
from saas.engine import windows, working_time
from saas.engine.advance import advance
from saas.engine.bulk import advance_group
from saas.engine.caps import claim_sends
from saas.engine.connect import connect_many, connect_record
from saas.engine.graph import load_graph
from saas.engine.models import Enrollment, StepRun
from saas.engine.windows import add_wait
from saas.engine.working_time import calendar_of
from saas.extensions import db
from saas.records.models import Record
from saas.templates_.models import MessageTemplate
from tests.engine.factories import build_sequence

PARIS = ZoneInfo("Europe/Paris")
EASTER_MONDAY = date(2027, 3, 29)
FRIDAY_AFTERNOON = datetime(2027, 3, 26, 14, 0, tzinfo=UTC)  # 15:00 CET
WEDNESDAY_SAME_TIME = datetime(2027, 3, 31, 13, 0, tzinfo=UTC)  # 15:00 CEST


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def paris_calendar(closed=(EASTER_MONDAY,), days="01234", start="09:00", end="17:00"):
    return calendar_of(days, start, end, closed, PARIS)


@pytest.fixture(autouse=True)
def _fresh_zone_cache():
    windows.clear_zone_cache()
    yield
    windows.clear_zone_cache()


# --- the arithmetic ----------------------------------------------------------------------------

def test_two_working_days_from_friday_afternoon_skip_the_weekend_and_easter_monday():
    cal = paris_calendar()
    assert cal.add(FRIDAY_AFTERNOON, days=2) == WEDNESDAY_SAME_TIME
    assert WEDNESDAY_SAME_TIME - FRIDAY_AFTERNOON == timedelta(days=4, hours=23)  # the DST hour
    assert cal.add(FRIDAY_AFTERNOON, days=1) == utc(2027, 3, 30, 13, 0)  # Tuesday 15:00 CEST
    # Without the holiday, Monday and Tuesday.
    assert paris_calendar(closed=()).add(FRIDAY_AFTERNOON, days=2) == utc(2027, 3, 30, 13, 0)


def test_the_autumn_change_and_all_saints_day():
    """Paris falls back on Sunday 2027-10-31 (03:00 CEST -> 02:00 CET); Monday 2027-11-01 is
    All Saints' Day. Friday 15:00 CEST (13:00 UTC) + 2 working days = Wednesday 15:00 CET."""
    cal = paris_calendar(closed=(date(2027, 11, 1),))
    assert cal.add(utc(2027, 10, 29, 13, 0), days=2) == utc(2027, 11, 3, 14, 0)


def test_working_hours_carry_over_to_the_next_working_day():
    cal = paris_calendar()
    # Friday 15:00 + 4 working hours: 2 on Friday, then Tuesday 09:00 CEST + 2 = 11:00 CEST.
    assert cal.add(FRIDAY_AFTERNOON, hours=4) == utc(2027, 3, 30, 9, 0)
    # Ending exactly at closing time ends at the next opening (never outside working time).
    assert cal.add(FRIDAY_AFTERNOON, hours=2) == utc(2027, 3, 30, 7, 0)
    # A day and an hour: Tuesday 15:00 CEST, then one working hour.
    assert cal.add(FRIDAY_AFTERNOON, days=1, hours=1) == utc(2027, 3, 30, 14, 0)


def test_a_wait_started_outside_working_time_starts_at_the_next_opening():
    cal = paris_calendar()
    saturday = utc(2027, 3, 27, 10, 0)
    assert cal.next_working(saturday) == utc(2027, 3, 30, 7, 0)  # Tuesday 09:00 CEST
    assert cal.add(saturday, days=1) == utc(2027, 3, 31, 7, 0)  # Wednesday 09:00 CEST
    evening = utc(2027, 3, 26, 16, 0)  # Friday 17:00 CET: closed
    assert cal.next_working(evening) == utc(2027, 3, 30, 7, 0)
    assert cal.next_working(FRIDAY_AFTERNOON) == FRIDAY_AFTERNOON


def test_sends_wait_for_working_time_and_the_window_together():
    cal = paris_calendar()
    window = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "10:00", "end": "12:00"}
    # Saturday: working time opens Tuesday 09:00; the window at 10:00 (Paris).
    assert cal.next_send(utc(2027, 3, 27, 10, 0), "Europe/Paris", window) == utc(
        2027, 3, 30, 8, 0)
    # A window on weekends only never meets working time: never deferred forever.
    weekend = {"days": [5, 6], "start": "10:00", "end": "12:00"}
    assert cal.next_send(utc(2027, 3, 27, 10, 0), "Europe/Paris", weekend) >= utc(
        2027, 3, 27, 10, 0)


def test_a_calendar_with_every_day_closed_never_defers_forever():
    start = utc(2027, 1, 4, 10, 0)
    everything = [date(2027, 1, 1) + timedelta(days=i) for i in range(1000)]
    cal = paris_calendar(closed=everything)
    assert cal.next_working(start) == start
    assert cal.add(start, days=2) == add_wait(start, "Europe/Paris", days=2)


def test_unreadable_stored_values_are_the_default_week():
    cal = calendar_of("x", "25:00", "nope", [], PARIS)
    assert cal.days == frozenset(range(5))
    assert (cal.start.hour, cal.end.hour) == (9, 17)
    assert calendar_of("0", "17:00", "09:00", [], PARIS).start.hour == 9  # end before start


# --- properties --------------------------------------------------------------------------------

INSTANTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 1),
                        timezones=st.just(UTC))
HOLIDAYS = st.lists(st.dates(min_value=date(2026, 1, 1), max_value=date(2029, 6, 1)),
                    max_size=60)
ZONES = st.sampled_from(["Europe/Paris", "Europe/London", "America/New_York",
                         "Australia/Lord_Howe", "America/Santiago"])
WEEKS = st.sets(st.integers(0, 6), min_size=1).map(lambda s: "".join(map(str, sorted(s))))
HOURS = st.sampled_from([("09:00", "17:00"), ("08:30", "12:00"), ("00:00", "23:59"),
                         ("01:30", "03:30"), ("14:00", "22:00")])


def _calendar(zone, week, hours, closed):
    return calendar_of(week, hours[0], hours[1], closed, ZoneInfo(zone))


def _is_working(cal, at: datetime) -> bool:
    local = at.astimezone(cal.tz)
    return (cal.works_on(local.date())
            and cal.start <= local.time().replace(tzinfo=None) < cal.end)


@settings(max_examples=300, deadline=None)
@given(ZONES, WEEKS, HOURS, HOLIDAYS, INSTANTS, INSTANTS, st.integers(0, 15),
       st.integers(0, 30))
def test_property_working_time(zone, week, hours, closed, one, other, days, extra_hours):
    cal = _calendar(zone, week, hours, closed)
    first, second = sorted((one, other))
    result = cal.add(first, days=days, hours=extra_hours)
    # Always a working instant, never before the same wait in calendar time.
    assert _is_working(cal, result)
    assert result >= add_wait(first, zone, days=days) + timedelta(hours=extra_hours)
    assert result >= first + timedelta(hours=extra_hours)
    # Monotonic in the start.
    assert cal.add(second, days=days, hours=extra_hours) >= result
    # The next working instant is a working instant, a fixed point, and never earlier.
    opening = cal.next_working(first)
    assert opening >= first and _is_working(cal, opening)
    assert cal.next_working(opening) == opening


@settings(max_examples=200, deadline=None)
@given(ZONES, WEEKS, HOURS, HOLIDAYS, INSTANTS, st.integers(0, 15))
def test_property_n_working_days_are_at_least_n_calendar_days(zone, week, hours, closed, start,
                                                              days):
    cal = _calendar(zone, week, hours, closed)
    result = cal.add(start, days=days)
    assert result >= add_wait(start, zone, days=days)
    assert (result.astimezone(cal.tz).date() - start.astimezone(cal.tz).date()).days >= days


# --- both engine paths -------------------------------------------------------------------------

def _template() -> int:
    template = MessageTemplate(kind="email", name="Hello", subject="Hi",
                               html_body="<p>Hello</p>", text_body="")
    db.session.add(template)
    db.session.flush()
    return template.id


def _paris_tenant(world, preset: bool = True) -> None:
    db.session.execute(update(Tenant).where(Tenant.id == world.tenant.id)
                       .values(time_zone="Europe/Paris"))
    windows.clear_zone_cache()
    if preset:  # the French public holidays of 2027 (Easter Monday among them)
        days = calendar_services.preset_days("fr", [2027])
        assert (EASTER_MONDAY, "Easter Monday") in days
        db.session.add_all([ClosureDay(day=d, name=n) for d, n in days])
    db.session.flush()
    working_time.forget()


def _sequence(first: dict, working: bool = True, window: dict | None = None):
    return build_sequence(
        [first, {"type": "auto_email", "name": "Auto", "config": {"template_id": _template()}}],
        settings={"working_time": working, "window": window})


def _live(enrollment_id: int) -> StepRun:
    return db.session.execute(
        select(StepRun).where(StepRun.enrollment_id == enrollment_id,
                              StepRun.status.in_(("waiting", "pending", "open")))
        .execution_options(populate_existing=True)).scalar_one()


def _enrollment(record_id: int) -> Enrollment:
    return db.session.execute(select(Enrollment).where(Enrollment.record_id == record_id)
                              ).scalar_one()


WAIT_2_DAYS = {"type": "wait", "name": "Wait", "config": {"days": 2}}


def test_the_french_holiday_wait_lands_on_wednesday_on_both_paths(world):
    """The issue's case: a 2-working-day wait from Friday afternoon, Easter Monday, DST."""
    single_id, batch_id, batch_other = world.add(3, time_zone="America/New_York")
    with world.inside():
        _paris_tenant(world)
        seq = _sequence(WAIT_2_DAYS)
        record = db.session.execute(select(Record).where(Record.id == single_id)).scalar_one()
        single = connect_record(record, seq.lineage_id, seller_id=world.seller.id,
                                now=FRIDAY_AFTERNOON)
        connect_many([batch_id, batch_other], seq.lineage_id, now=FRIDAY_AFTERNOON)
        runs = [_live(single.id), _live(_enrollment(batch_id).id),
                _live(_enrollment(batch_other).id)]
        assert [r.due_at for r in runs] == [WEDNESDAY_SAME_TIME] * 3
        # The wait ends on time; the send after it: at once on the single-record path...
        graph = load_graph(seq.id)
        for run in runs:
            db.session.execute(update(StepRun).where(StepRun.id == run.id)
                               .values(status="completed", completed_at=run.due_at))
        advance(single, runs[0], now=WEDNESDAY_SAME_TIME)
        # ... and on the batch path.
        advance_group(graph, [runs[1].enrollment_id, runs[2].enrollment_id], runs[1].step_id,
                      None, WEDNESDAY_SAME_TIME)
        sends = [_live(r.enrollment_id) for r in runs]
        assert {s.step_type for s in sends} == {"auto_email"}
        assert [s.due_at for s in sends] == [WEDNESDAY_SAME_TIME] * 3


def test_a_wait_started_in_the_batch_path_agrees_with_advance(world):
    """advance() and advance_group() (not the connect INSERT) from an activity just done."""
    single_id, batch_id = world.add(2, time_zone="Europe/Paris")
    with world.inside():
        _paris_tenant(world)
        seq = build_sequence([{"type": "call", "name": "Call"}, WAIT_2_DAYS],
                             settings={"working_time": True})
        graph = load_graph(seq.id)
        enrollments = []
        for record_id in (single_id, batch_id):
            enrollment = Enrollment(record_id=record_id, sequence_id=seq.id,
                                    lineage_id=seq.lineage_id, seller_id=world.seller.id,
                                    status="active", source="manual", steps_done=0,
                                    started_at=FRIDAY_AFTERNOON, updated_at=FRIDAY_AFTERNOON)
            db.session.add(enrollment)
            enrollments.append(enrollment)
        db.session.flush()
        saturday = utc(2027, 3, 27, 9, 0)
        call = advance(enrollments[0], now=saturday)
        advance_group(graph, [enrollments[1].id], None, None, saturday, counted=False)
        calls = [_live(e.id) for e in enrollments]
        # A new activity on a Saturday before Easter Monday is due Tuesday 09:00 CEST.
        assert call.due_at == calls[1].due_at == utc(2027, 3, 30, 7, 0)
        for run in calls:
            db.session.execute(update(StepRun).where(StepRun.id == run.id)
                               .values(status="completed", completed_at=FRIDAY_AFTERNOON))
        advance(enrollments[0], calls[0], now=FRIDAY_AFTERNOON)
        advance_group(graph, [enrollments[1].id], calls[1].step_id, None, FRIDAY_AFTERNOON)
        assert [_live(e.id).due_at for e in enrollments] == [WEDNESDAY_SAME_TIME] * 2


def test_without_the_setting_waits_stay_in_calendar_days(world):
    record_id, = world.add(1, time_zone="Europe/Paris")
    with world.inside():
        _paris_tenant(world)
        seq = _sequence(WAIT_2_DAYS, working=False)
        connect_many([record_id], seq.lineage_id, now=FRIDAY_AFTERNOON)
        # Sunday 15:00 CEST (the DST change in between), holiday or not.
        assert _live(_enrollment(record_id).id).due_at == utc(2027, 3, 28, 13, 0)


def test_a_send_claimed_after_hours_moves_to_the_next_working_time(world):
    record_id, = world.add(1, time_zone="Europe/Paris")
    with world.inside():
        _paris_tenant(world)
        seq = _sequence({"type": "wait", "name": "Wait", "config": {"hours": 1}})
        connect_many([record_id], seq.lineage_id, now=FRIDAY_AFTERNOON)
        enrollment = _enrollment(record_id)
        wait = _live(enrollment.id)
        assert wait.due_at == FRIDAY_AFTERNOON + timedelta(hours=1)
        db.session.execute(update(StepRun).where(StepRun.id == wait.id)
                           .values(status="completed", completed_at=wait.due_at))
        advance_group(load_graph(seq.id), [enrollment.id], wait.step_id, None, wait.due_at)
        send = _live(enrollment.id)
        assert send.due_at == wait.due_at  # 16:00 CET: working time
        late = utc(2027, 3, 26, 16, 30)  # the tick only reaches it at 17:30 CET
        claimed, deferred = claim_sends(world.tenant.id, [send], late, "token")
        assert (claimed, deferred) == ([], 1)
        assert _live(enrollment.id).due_at == utc(2027, 3, 30, 7, 0)  # Tuesday 09:00 CEST


def test_the_batch_path_reads_the_calendar_once(world):
    ids = world.add(30, time_zone="Europe/Paris")
    with world.inside():
        db.session.execute(update(Record).where(Record.id.in_(ids[:10]))
                           .values(time_zone="America/New_York"))
        db.session.execute(update(Record).where(Record.id.in_(ids[10:20]))
                           .values(time_zone="Asia/Tokyo"))
        _paris_tenant(world)
        db.session.add(Calendar(working_days="0123", day_start="08:00", day_end="18:00"))
        db.session.flush()
        working_time.forget()
        seq = _sequence({"type": "call", "name": "Call"},
                        window={"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"})
        statements = []

        def count(conn, cursor, statement, *args):
            if "closure_day" in statement:
                statements.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            connect_many(ids, seq.lineage_id, now=FRIDAY_AFTERNOON)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == 1
        # Friday is not a working day in this week (Monday to Thursday): Tuesday 08:00 CEST.
        due = {_live(_enrollment(r).id).due_at for r in ids}
        assert due == {utc(2027, 3, 30, 6, 0)}


PATH_ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
              "Europe/London"]


def test_property_the_two_paths_agree_in_working_time(world):
    """Random tenant zones, calendars, closure days, starts, waits and windows: advance() and
    advance_group() write the same wait and send due times, and they are the arithmetic's."""
    from tests.engine.test_time_zones import _both_paths

    single_id, batch_id = world.add(2)
    seller_id = world.seller.id

    @settings(max_examples=30, deadline=None)
    @given(st.sampled_from(PATH_ZONES), WEEKS, HOURS, HOLIDAYS, INSTANTS, st.integers(0, 4),
           st.integers(0, 10), st.sampled_from(PATH_ZONES + [""]),
           st.sampled_from([None, {"days": [0, 1, 2, 3, 4], "start": "10:00", "end": "16:00"},
                            {"days": [1, 3, 5], "start": "08:00", "end": "20:00"}]))
    def check(zone, week, hours, closed, start, days, extra_hours, record_zone, window):
        with world.inside():
            db.session.execute(update(Tenant).where(Tenant.id == world.tenant.id)
                               .values(time_zone=zone))
            windows.clear_zone_cache()
            db.session.execute(update(Record).where(Record.id.in_([single_id, batch_id]))
                               .values(time_zone=record_zone))
            db.session.add(Calendar(working_days=week, day_start=hours[0], day_end=hours[1]))
            db.session.add_all([ClosureDay(day=d, name="Closed") for d in set(closed)])
            db.session.flush()
            working_time.forget()
            seq = build_sequence(
                [{"type": "wait", "name": "Wait", "config": {"days": days,
                                                            "hours": extra_hours}},
                 {"type": "auto_email", "name": "Auto", "config": {"template_id": _template()}}],
                settings={"working_time": True, "window": window})
            single, batch = _both_paths(single_id, batch_id, seq, seller_id, start)
            assert single == batch
            cal = _calendar(zone, week, hours, closed)
            wait_due = cal.add(start, days=days, hours=extra_hours) if days or extra_hours \
                else cal.add(start, hours=1)  # an empty wait is one hour
            assert single == (wait_due, cal.next_send(wait_due, record_zone or zone, window))

    check()
