"""Time zones: sending windows, waits in days, daily boundaries, across daylight-saving changes.

The expected instants are written out by hand from the zones' rules (tzdata 2026):
- America/New_York springs forward on 2026-03-08 at 02:00 EST (07:00 UTC) to 03:00 EDT;
- Europe/Paris falls back on 2026-10-25 at 03:00 CEST (01:00 UTC) to 02:00 CET, so 02:00-03:00
  happens twice (first at 00:00-01:00 UTC, then at 01:00-02:00 UTC);
- Australia/Lord_Howe moves by 30 minutes: +10:30 -> +11 on 2026-10-04 at 02:00 (02:00-02:30 is
  skipped; 15:30 UTC the day before), back on 2026-04-05 at 02:00 +11 to 01:30 +10:30
  (01:30-02:00 happens twice, first at 14:30-15:00 UTC on 04-04);
- Pacific/Chatham is +12:45, +13:45 in summer: on 2026-09-27 02:45 -> 03:45 (14:00 UTC on
  09-26), on 2026-04-05 03:45 -> 02:45 (02:45-03:45 twice, first from 13:00 UTC on 04-04);
- America/Havana springs forward at midnight: 2026-03-08 00:00 CST (05:00 UTC) -> 01:00 CDT, and
  falls back on 2026-11-01 at 01:00 CDT (05:00 UTC) to 00:00 CST;
- America/Santiago springs forward at midnight: 2026-09-06 00:00 -04 (04:00 UTC) -> 01:00 -03, and
  falls back at 24:00 on Saturday 2026-04-04 (03:00 UTC) to 23:00 -04.

The property tests check the arithmetic against zoneinfo itself (never against the code under
test) over random zones, times, waits and windows, with extra weight on instants near a change.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from saas.auth.models import Tenant
from saas.engine import windows
from saas.engine.advance import advance
from saas.engine.bulk import advance_group
from saas.engine.graph import load_graph
from saas.engine.models import Enrollment, StepRun
from saas.engine.windows import add_wait, day_start, next_day_opening, next_opening
from saas.extensions import db
from saas.records.models import Record
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence

WEEK = [0, 1, 2, 3, 4, 5, 6]
SUNDAY = [6]
WORKDAYS = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def window(days, start, end) -> dict:
    return {"days": days, "start": start, "end": end}


@pytest.fixture(autouse=True)
def _fresh_zone_cache():
    """Tenants' zones are remembered for a minute; tenant ids repeat from test to test."""
    windows.clear_zone_cache()
    yield
    windows.clear_zone_cache()


# --- America/New_York: an opening and a wait inside the spring-forward gap ---------------------

def test_new_york_a_window_opening_in_the_gap_opens_when_the_gap_ends():
    sunday_window = window(SUNDAY, "02:30", "05:00")
    # Sunday 00:00 EST: the window opens at 02:30, which does not exist: 03:00 EDT = 07:00 UTC
    # (not 06:30 UTC, 01:30 EST, an hour early).
    assert next_opening(utc(2026, 3, 8, 5, 0), "America/New_York", sunday_window) == utc(
        2026, 3, 8, 7, 0)
    assert next_opening(utc(2026, 3, 8, 6, 59, 59), "America/New_York", sunday_window) == utc(
        2026, 3, 8, 7, 0)
    assert next_opening(utc(2026, 3, 8, 7, 0), "America/New_York", sunday_window) == utc(
        2026, 3, 8, 7, 0)
    assert next_opening(utc(2026, 3, 8, 8, 30), "America/New_York", sunday_window) == utc(
        2026, 3, 8, 8, 30)  # 04:30 EDT: open
    # Closed from 05:00 EDT (09:00 UTC): the next Sunday at 02:30 EDT.
    assert next_opening(utc(2026, 3, 8, 9, 0), "America/New_York", sunday_window) == utc(
        2026, 3, 15, 6, 30)
    # Hours that all fall in the gap make no window that day: the next Sunday's.
    assert next_opening(utc(2026, 3, 8, 5, 0), "America/New_York",
                        window(SUNDAY, "02:10", "02:50")) == utc(2026, 3, 15, 6, 10)


def test_new_york_a_wait_ending_in_the_gap_ends_when_the_gap_ends():
    saturday_0230 = utc(2026, 3, 7, 7, 30)  # 02:30 EST
    assert add_wait(saturday_0230, "America/New_York", days=1) == utc(2026, 3, 8, 7, 0)
    assert add_wait(saturday_0230, "America/New_York", days=1, hours=2) == utc(2026, 3, 8, 9, 0)
    assert add_wait(saturday_0230, "America/New_York", days=2) == utc(2026, 3, 9, 6, 30)
    assert add_wait(saturday_0230, "America/New_York", hours=24) == utc(2026, 3, 8, 7, 30)
    assert day_start(utc(2026, 3, 8, 12, 0), "America/New_York") == utc(2026, 3, 8, 5, 0)
    assert next_day_opening(utc(2026, 3, 8, 3, 0), "America/New_York", None) == utc(
        2026, 3, 8, 5, 0)  # from Saturday 22:00 EST: Sunday 00:00 EST
    assert next_day_opening(utc(2026, 3, 8, 12, 0), "America/New_York", None) == utc(
        2026, 3, 9, 4, 0)  # from Sunday 08:00 EDT: Monday 00:00 EDT


# --- Europe/Paris: a wait ending in the repeated hour takes its first occurrence ---------------

def test_paris_a_wait_ending_in_the_repeated_hour_takes_its_first_occurrence():
    saturday_0230 = utc(2026, 10, 24, 0, 30)  # 02:30 CEST
    assert add_wait(saturday_0230, "Europe/Paris", days=1) == utc(2026, 10, 25, 0, 30)
    assert add_wait(saturday_0230, "Europe/Paris", days=1, hours=1) == utc(2026, 10, 25, 1, 30)
    assert add_wait(saturday_0230, "Europe/Paris", days=2) == utc(2026, 10, 26, 1, 30)
    # Started in the second 02:30 (CET): the next day's 02:30 CET.
    assert add_wait(utc(2026, 10, 25, 1, 30), "Europe/Paris", days=1) == utc(2026, 10, 26, 1, 30)
    # Ended on it from the week before (CEST all along): the first 02:30 again.
    assert add_wait(utc(2026, 10, 18, 0, 30), "Europe/Paris", days=7) == utc(2026, 10, 25, 0, 30)


def test_paris_a_window_in_the_repeated_hour():
    sunday = window(SUNDAY, "02:30", "06:00")
    # From Sunday 00:00 CEST: opens at the first 02:30 (CEST), 00:30 UTC.
    paris = "Europe/Paris"
    assert next_opening(utc(2026, 10, 24, 22, 0), paris, sunday) == utc(2026, 10, 25, 0, 30)
    # At the second 02:15 (CET): open (the window opened at the first 02:30).
    assert next_opening(utc(2026, 10, 25, 1, 15), paris, sunday) == utc(2026, 10, 25, 1, 15)
    # A window that closes at 02:30 closes at the first one.
    early = window(SUNDAY, "02:00", "02:30")
    assert next_opening(utc(2026, 10, 25, 0, 10), "Europe/Paris", early) == utc(2026, 10, 25, 0, 10)
    assert next_opening(utc(2026, 10, 25, 1, 15), "Europe/Paris", early) == utc(2026, 11, 1, 1, 0)
    assert day_start(utc(2026, 10, 25, 12, 0), "Europe/Paris") == utc(2026, 10, 24, 22, 0)
    assert next_day_opening(utc(2026, 10, 25, 12, 0), "Europe/Paris", None) == utc(
        2026, 10, 25, 23, 0)  # Monday 00:00 CET
    assert next_day_opening(utc(2026, 10, 23, 20, 0), "Europe/Paris", WORKDAYS) == utc(
        2026, 10, 26, 8, 0)  # Friday 22:00 CEST: Monday 09:00 CET


# --- Australia/Lord_Howe: half-hour changes ----------------------------------------------------

def test_lord_howe_half_hour_gap_and_repeat():
    # Sunday 2026-10-04 00:30 +10:30 = 2026-10-03 14:00 UTC; 02:15 is skipped: 02:30 +11.
    assert next_opening(utc(2026, 10, 3, 14, 0), "Australia/Lord_Howe",
                        window(WEEK, "02:15", "04:00")) == utc(2026, 10, 3, 15, 30)
    assert next_opening(utc(2026, 10, 3, 14, 0), "Australia/Lord_Howe",
                        window(WEEK, "03:00", "04:00")) == utc(2026, 10, 3, 16, 0)
    # Saturday 02:15 +10:30 (2026-10-02 15:45 UTC) + 1 day: skipped, 02:30 +11.
    assert add_wait(utc(2026, 10, 2, 15, 45), "Australia/Lord_Howe", days=1) == utc(
        2026, 10, 3, 15, 30)
    # Saturday 2026-04-04 01:45 +11 (14:45 UTC) + 1 day: 01:45 twice, the first (+11).
    assert add_wait(utc(2026, 4, 3, 14, 45), "Australia/Lord_Howe", days=1) == utc(
        2026, 4, 4, 14, 45)
    assert add_wait(utc(2026, 4, 3, 14, 45), "Australia/Lord_Howe", days=2) == utc(
        2026, 4, 5, 15, 15)  # Monday 01:45 +10:30
    assert day_start(utc(2026, 10, 4, 0, 0), "Australia/Lord_Howe") == utc(2026, 10, 3, 13, 30)
    assert next_day_opening(utc(2026, 10, 3, 13, 0), "Australia/Lord_Howe", None) == utc(
        2026, 10, 3, 13, 30)  # from Saturday 23:30 +10:30: Sunday 00:00 +10:30


# --- Pacific/Chatham: +12:45 / +13:45 -----------------------------------------------------------

def test_chatham_quarter_hour_offsets():
    # Sunday 2026-09-27 00:45 +12:45 = 2026-09-26 12:00 UTC; 03:00 is skipped: 03:45 +13:45.
    assert next_opening(utc(2026, 9, 26, 12, 0), "Pacific/Chatham",
                        window(WEEK, "03:00", "05:00")) == utc(2026, 9, 26, 14, 0)
    assert next_opening(utc(2026, 9, 26, 12, 0), "Pacific/Chatham",
                        window(WEEK, "04:00", "05:00")) == utc(2026, 9, 26, 14, 15)
    # Saturday 03:00 +12:45 (2026-09-25 14:15 UTC) + 1 day: skipped, 03:45 +13:45.
    assert add_wait(utc(2026, 9, 25, 14, 15), "Pacific/Chatham", days=1) == utc(2026, 9, 26, 14, 0)
    # Saturday 2026-04-04 03:00 +13:45 (2026-04-03 13:15 UTC) + 1 day: 03:00 twice, the first.
    assert add_wait(utc(2026, 4, 3, 13, 15), "Pacific/Chatham", days=1) == utc(2026, 4, 4, 13, 15)
    assert day_start(utc(2026, 9, 26, 20, 0), "Pacific/Chatham") == utc(2026, 9, 26, 11, 15)
    assert next_day_opening(utc(2026, 9, 26, 20, 0), "Pacific/Chatham", None) == utc(
        2026, 9, 27, 10, 15)  # from Sunday 09:45 +13:45: Monday 00:00 +13:45


# --- America/Havana and America/Santiago: DST at midnight ---------------------------------------

def test_havana_midnight_does_not_exist_on_the_change_day():
    saturday_2330 = utc(2026, 3, 8, 4, 30)  # Saturday 2026-03-07 23:30 CST
    # The next local day starts at 01:00 CDT = 05:00 UTC, after `at` (not 04:00 UTC, before it).
    assert next_day_opening(saturday_2330, "America/Havana", None) == utc(2026, 3, 8, 5, 0)
    assert next_day_opening(utc(2026, 3, 8, 4, 59, 59), "America/Havana", None) == utc(
        2026, 3, 8, 5, 0)
    assert next_day_opening(saturday_2330, "America/Havana",
                            window(WEEK, "00:00", "23:59")) == utc(2026, 3, 8, 5, 0)
    assert next_day_opening(saturday_2330, "America/Havana", WORKDAYS) == utc(2026, 3, 9, 13, 0)
    assert day_start(utc(2026, 3, 8, 12, 0), "America/Havana") == utc(2026, 3, 8, 5, 0)
    assert next_opening(saturday_2330, "America/Havana",
                        window(SUNDAY, "00:00", "08:00")) == utc(2026, 3, 8, 5, 0)
    # Saturday 00:00 CST (05:00 UTC) + 1 day: midnight is skipped, 01:00 CDT.
    assert add_wait(utc(2026, 3, 7, 5, 0), "America/Havana", days=1) == utc(2026, 3, 8, 5, 0)
    # Fall back: midnight happens twice on 2026-11-01; the next day starts at the first (CDT).
    assert next_day_opening(utc(2026, 11, 1, 3, 30), "America/Havana", None) == utc(
        2026, 11, 1, 4, 0)
    assert day_start(utc(2026, 11, 1, 12, 0), "America/Havana") == utc(2026, 11, 1, 4, 0)
    assert add_wait(utc(2026, 10, 31, 4, 30), "America/Havana", days=1) == utc(2026, 11, 1, 4, 30)


def test_santiago_midnight_does_not_exist_on_the_change_day():
    saturday_2330 = utc(2026, 9, 6, 3, 30)  # Saturday 2026-09-05 23:30 -04
    assert next_day_opening(saturday_2330, "America/Santiago", None) == utc(2026, 9, 6, 4, 0)
    assert day_start(utc(2026, 9, 6, 12, 0), "America/Santiago") == utc(2026, 9, 6, 4, 0)
    assert next_opening(saturday_2330, "America/Santiago",
                        window(SUNDAY, "00:00", "09:00")) == utc(2026, 9, 6, 4, 0)
    assert add_wait(utc(2026, 9, 5, 4, 0), "America/Santiago", days=1) == utc(2026, 9, 6, 4, 0)
    # Fall back at 24:00 on Saturday 2026-04-04: 23:00-24:00 happens twice (-03, then -04);
    # from either 23:30 the next day starts at Sunday 00:00 -04 = 04:00 UTC.
    assert next_day_opening(utc(2026, 4, 5, 2, 30), "America/Santiago", None) == utc(
        2026, 4, 5, 4, 0)
    assert next_day_opening(utc(2026, 4, 5, 3, 30), "America/Santiago", None) == utc(
        2026, 4, 5, 4, 0)
    assert add_wait(utc(2026, 4, 4, 2, 30), "America/Santiago", days=1) == utc(2026, 4, 5, 2, 30)


# --- zones the engine does not know, and windows it cannot read ---------------------------------

def test_no_zone_or_an_unknown_zone_is_the_tenants(app, world):
    at = utc(2026, 11, 23, 20, 0)  # Monday 15:00 EST, 21:00 CET
    with world.inside():
        db.session.execute(update(Tenant).where(Tenant.id == world.tenant.id)
                           .values(time_zone="Europe/Paris"))
        for name in (None, "", "Mars/Olympus", "America", "../etc/passwd", "Europe/Paris "):
            assert next_opening(at, name, WORKDAYS) == utc(2026, 11, 24, 8, 0), name
            assert add_wait(utc(2026, 10, 24, 7, 0), name, days=1) == utc(2026, 10, 25, 8, 0)
            assert day_start(at, name) == utc(2026, 11, 22, 23, 0)  # Monday 00:00 CET
            assert next_day_opening(at, name, None) == utc(2026, 11, 23, 23, 0)
        assert next_opening(at, "America/New_York", WORKDAYS) == at  # a known zone is its own
        # Remembered for a while (looked up once per tenant, not per record) ...
        db.session.execute(update(Tenant).where(Tenant.id == world.tenant.id)
                           .values(time_zone="America/New_York"))
        assert next_opening(at, "", WORKDAYS) == utc(2026, 11, 24, 8, 0)
        windows.clear_zone_cache()
        assert next_opening(at, "", WORKDAYS) == at
        # ... and a tenant whose own zone is unknown is in UTC.
        db.session.execute(update(Tenant).where(Tenant.id == world.tenant.id)
                           .values(time_zone="Nowhere/Special"))
        windows.clear_zone_cache()
        assert next_opening(at, "", WORKDAYS) == utc(2026, 11, 24, 9, 0)
    # With no tenant in context: UTC.
    with app.app_context():
        assert next_opening(at, "Mars/Olympus", WORKDAYS) == utc(2026, 11, 24, 9, 0)
    assert day_start(at, None) == utc(2026, 11, 23, 0, 0)


def test_windows_that_cannot_be_read_never_crash():
    at = utc(2026, 11, 23, 20, 0)  # Monday 20:00 UTC
    tomorrow_nine = utc(2026, 11, 24, 9, 0)
    for bad in ({"days": WORKDAYS["days"], "start": "9", "end": None},
                {"days": WORKDAYS["days"], "start": "25:00", "end": "17:99"},
                {"days": WORKDAYS["days"], "start": 9, "end": ["17:00"]},
                {"days": WORKDAYS["days"], "start": "18:00", "end": "08:00"},  # ends before
                {"days": ["0", 1, "x", None, 9, -1, 2.0, "3", 4, float("inf")]}):
        assert next_opening(at, "UTC", bad) == tomorrow_nine, bad
        assert next_day_opening(at, "UTC", bad) == tomorrow_nine, bad
    for none in (None, {}, [], "weekdays", {"days": []}, {"days": "01234"},
                 {"days": ["x", None, 7]}, {"days": 5}):
        assert next_opening(at, "UTC", none) == at, none  # no window: at once
        assert next_day_opening(at, "UTC", none) == utc(2026, 11, 24, 0, 0), none


# --- the single-record path and the batch path give the same instants --------------------------

def _template() -> int:
    template = MessageTemplate(kind="email", name="Hello", subject="Hi",
                               html_body="<p>Hello</p>", text_body="")
    db.session.add(template)
    db.session.flush()
    return template.id


def _sequence(days: int, hours: int, sending_window: dict | None):
    return build_sequence(
        [{"type": "wait", "name": "Wait", "config": {"days": days, "hours": hours}},
         {"type": "auto_email", "name": "Auto", "config": {"template_id": _template()}}],
        settings={"window": sending_window})


def _enroll(record_id: int, seq, seller_id: int, now: datetime) -> Enrollment:
    enrollment = Enrollment(record_id=record_id, sequence_id=seq.id, lineage_id=seq.lineage_id,
                            seller_id=seller_id, status="active", source="manual", steps_done=0,
                            started_at=now, updated_at=now)
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


def _live_run(enrollment_id: int) -> StepRun:
    return db.session.execute(
        select(StepRun).where(StepRun.enrollment_id == enrollment_id,
                              StepRun.status.in_(("waiting", "pending")))
        .execution_options(populate_existing=True)).scalar_one()


def _finish(run: StepRun, at: datetime) -> None:
    db.session.execute(update(StepRun).where(StepRun.id == run.id)
                       .values(status="completed", completed_at=at)
                       .execution_options(synchronize_session=False))


def _both_paths(single_id: int, batch_id: int, seq, seller_id: int, start: datetime):
    """(wait due, send due) for one record through advance() and one through advance_group(),
    each send step reached at the moment its wait ends (a tick exactly on time)."""
    graph = load_graph(seq.id)
    single = _enroll(single_id, seq, seller_id, start)
    batch = _enroll(batch_id, seq, seller_id, start)
    wait_run = advance(single, now=start)
    assert wait_run.due_at == _live_run(single.id).due_at
    advance_group(graph, [batch.id], None, None, start, counted=False)
    single_wait, batch_wait = _live_run(single.id), _live_run(batch.id)
    _finish(single_wait, single_wait.due_at)
    advance(single, single_wait, now=single_wait.due_at)
    _finish(batch_wait, batch_wait.due_at)
    advance_group(graph, [batch.id], batch_wait.step_id, None, batch_wait.due_at)
    single_send, batch_send = _live_run(single.id), _live_run(batch.id)
    assert single_send.step_type == batch_send.step_type == "auto_email"
    return (single_wait.due_at, single_send.due_at), (batch_wait.due_at, batch_send.due_at)


# (zone, start, wait days, window, wait due, send due), all by hand; the tenant is in New York.
PATH_CASES = [
    # Sat 01:00 EST + 1 day = Sun 01:00 EST; the window opens at 02:30, skipped: 03:00 EDT.
    ("America/New_York", utc(2026, 3, 7, 6, 0), 1, window(SUNDAY, "02:30", "05:00"),
     utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 7, 0)),
    # Sat 02:30 EST + 1 day: skipped, 03:00 EDT; the window (03:30) opens half an hour later.
    ("America/New_York", utc(2026, 3, 7, 7, 30), 1, window(SUNDAY, "03:30", "05:00"),
     utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 30)),
    # Sat 02:30 CEST + 1 day = the first 02:30 (CEST); workdays: Monday 09:00 CET.
    ("Europe/Paris", utc(2026, 10, 24, 0, 30), 1, WORKDAYS,
     utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 8, 0)),
    # Sat 02:30 CEST + 1 day = the first 02:30 (CEST); a Sunday window 02:00-02:30 is open.
    ("Europe/Paris", utc(2026, 10, 24, 0, 20), 1, window(SUNDAY, "02:00", "02:30"),
     utc(2026, 10, 25, 0, 20), utc(2026, 10, 25, 0, 20)),
    # Sat 02:15 +10:30 + 1 day: skipped, 02:30 +11; the window opens at 03:00 +11.
    ("Australia/Lord_Howe", utc(2026, 10, 2, 15, 45), 1, window(SUNDAY, "03:00", "05:00"),
     utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 16, 0)),
    # Sat 01:45 +11 + 1 day = the first 01:45 (+11); Monday 09:00 +10:30.
    ("Australia/Lord_Howe", utc(2026, 4, 3, 14, 45), 1, WORKDAYS,
     utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 22, 30)),
    # Sat 03:00 +12:45 + 1 day: skipped, 03:45 +13:45, inside a 03:00-05:00 Sunday window.
    ("Pacific/Chatham", utc(2026, 9, 25, 14, 15), 1, window(SUNDAY, "03:00", "05:00"),
     utc(2026, 9, 26, 14, 0), utc(2026, 9, 26, 14, 0)),
    # Sat 03:00 +13:45 + 1 day = the first 03:00 (+13:45); Monday 09:00 +12:45.
    ("Pacific/Chatham", utc(2026, 4, 3, 13, 15), 1, WORKDAYS,
     utc(2026, 4, 4, 13, 15), utc(2026, 4, 5, 20, 15)),
    # Fri 23:30 CST + 1 day = Sat 23:30 CST; the Sunday window opens at midnight, skipped: 01:00.
    ("America/Havana", utc(2026, 3, 7, 4, 30), 1, window(SUNDAY, "00:00", "08:00"),
     utc(2026, 3, 8, 4, 30), utc(2026, 3, 8, 5, 0)),
    # Fri 23:30 -04 + 1 day = Sat 23:30 -04; the Sunday window opens at midnight, skipped: 01:00.
    ("America/Santiago", utc(2026, 9, 5, 3, 30), 1, window(SUNDAY, "00:00", "09:00"),
     utc(2026, 9, 6, 3, 30), utc(2026, 9, 6, 4, 0)),
    # Fri 23:30 -03 + 1 day = the first Sat 23:30 (-03); Monday 09:00 -04.
    ("America/Santiago", utc(2026, 4, 4, 2, 30), 1, WORKDAYS,
     utc(2026, 4, 5, 2, 30), utc(2026, 4, 6, 13, 0)),
    # No zone, an unknown zone: the tenant's (New York), as in the first case.
    ("", utc(2026, 3, 7, 6, 0), 1, window(SUNDAY, "02:30", "05:00"),
     utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 7, 0)),
    ("Mars/Olympus", utc(2026, 3, 7, 7, 30), 1, window(SUNDAY, "03:30", "05:00"),
     utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 30)),
]


@pytest.mark.parametrize(("zone_name", "start", "days", "sending_window", "wait_due", "send_due"),
                         PATH_CASES, ids=[f"{c[0] or 'no-zone'}-{c[1]:%m-%d}" for c in PATH_CASES])
def test_the_single_record_and_batch_paths_give_the_same_instants(
        world, zone_name, start, days, sending_window, wait_due, send_due):
    single_id, batch_id = world.add(2, time_zone=zone_name)
    with world.inside():
        db.session.execute(update(Tenant).where(Tenant.id == world.tenant.id)
                           .values(time_zone="America/New_York"))
        seq = _sequence(days, 0, sending_window)
        single, batch = _both_paths(single_id, batch_id, seq, world.seller.id, start)
        assert single == (wait_due, send_due)
        assert batch == (wait_due, send_due)


# --- properties over random zones, times, waits and windows ------------------------------------

ZONE_NAMES = sorted(available_timezones())
SPECIAL = ["America/New_York", "Europe/Paris", "Australia/Lord_Howe", "Pacific/Chatham",
           "America/Havana", "America/Santiago", "America/Nuuk"]
FIRST, LAST = utc(2026, 1, 1), utc(2027, 12, 31, 23, 59, 59)
SECOND = timedelta(seconds=1)


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    return instant.astimezone(tz).utcoffset()


@cache
def transitions(name: str) -> tuple[datetime, ...]:
    """The instants in 2026-2027 at which the zone's offset changes (from zoneinfo)."""
    tz, found = ZoneInfo(name), []
    day = FIRST
    while day < LAST:
        if _offset(day, tz) != _offset(day + timedelta(days=1), tz):
            low, high = day, day + timedelta(days=1)
            while high - low > SECOND:
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _offset(middle, tz) == _offset(low, tz):
                    low = middle
                else:
                    high = middle
            found.append(high)
        day += timedelta(days=1)
    return tuple(found)


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def exists(naive: datetime, tz: ZoneInfo) -> bool:
    return wall(naive.replace(tzinfo=tz).astimezone(UTC), tz) == naive


def repeated(instant: datetime, tz: ZoneInfo) -> bool:
    local = instant.astimezone(tz).replace(tzinfo=None)
    return (local.replace(tzinfo=tz, fold=0).astimezone(UTC)
            != local.replace(tzinfo=tz, fold=1).astimezone(UTC))


def ends_gap_holding(instant: datetime, tz: ZoneInfo, naive: datetime) -> bool:
    """`instant` is a spring-forward change and `naive` a wall time the change skips."""
    return (_offset(instant - SECOND, tz) < _offset(instant, tz)
            and wall(instant - SECOND, tz) < naive < wall(instant, tz))


def in_hours(instant: datetime, tz: ZoneInfo, spec: dict) -> bool:
    local = wall(instant, tz)
    return (local.weekday() in spec["days"]
            and time.fromisoformat(spec["start"]) <= local.time() < time.fromisoformat(spec["end"]))


def opens_here(instant: datetime, tz: ZoneInfo, spec: dict) -> bool:
    """Inside the window's local hours, or the end of a gap that skipped an opening."""
    if in_hours(instant, tz, spec):
        return True
    local = wall(instant, tz)
    start = time.fromisoformat(spec["start"])
    return any(d.weekday() in spec["days"]
               and ends_gap_holding(instant, tz, datetime.combine(d, start))
               for d in (local.date(), local.date() - timedelta(days=1)))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minute_of_day(naive: datetime) -> int:
    return naive.hour * 60 + naive.minute


@st.composite
def scenarios(draw):
    """A zone, an instant, a wait and a window. Mostly aimed at one of the zone's changes: a
    window whose opening falls in (or next to) the skipped or repeated hours, with `at` in the
    eight hours before; or a wait in days ending within ninety minutes of the change."""
    name = draw(st.one_of(st.sampled_from(ZONE_NAMES), st.sampled_from(SPECIAL)))
    tz = ZoneInfo(name)
    days, hours = draw(st.integers(0, 30)), draw(st.integers(0, 23))
    changes = transitions(name)
    aim = draw(st.sampled_from(["anywhere", "window", "window", "wait", "wait"])) if changes \
        else "anywhere"
    week = set(draw(st.sets(st.integers(0, 6), min_size=1)))
    if aim == "anywhere":
        at = FIRST + timedelta(seconds=draw(st.integers(0, int((LAST - FIRST).total_seconds()))))
        start_minute = draw(st.integers(0, 24 * 60 - 2))
    else:
        change = draw(st.sampled_from(changes))
        before, after = wall(change - SECOND, tz) + SECOND, wall(change, tz)  # the walls met
        if aim == "window":
            at = change - timedelta(minutes=draw(st.integers(-30, 8 * 60)))
            low, high = sorted((_minute_of_day(before), _minute_of_day(after)))
            start_minute = draw(st.integers(max(low - 15, 0), min(high + 15, 24 * 60 - 2)))
            week |= {before.weekday(), after.weekday()}
        else:
            at = change - timedelta(days=days) + timedelta(minutes=draw(st.integers(-90, 90)))
            start_minute = draw(st.integers(0, 24 * 60 - 2))
        at += timedelta(seconds=draw(st.sampled_from([0, 0, 1, 59])))
    end_minute = 24 * 60 - 1 - draw(st.integers(0, 24 * 60 - 2 - start_minute))  # long ones
    spec = {"days": sorted(week), "start": _hhmm(start_minute), "end": _hhmm(end_minute)}
    return name, at, days, hours, spec


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_property_next_opening(scenario):
    name, at, _days, _hours, spec = scenario
    tz = ZoneInfo(name)
    opening = next_opening(at, name, spec)
    assert opening >= at
    assert next_opening(opening, name, spec) == opening  # a fixed point
    if opening == at and repeated(at, tz):
        # In the second pass of a repeated hour the window may read "before its start" on the
        # wall clock and yet be open: it opened at the first pass (an hour or so earlier).
        assert opens_here(opening, tz, spec) or any(
            in_hours(at - timedelta(minutes=m), tz, spec) for m in range(1, 181))
    else:
        assert opens_here(opening, tz, spec)
    if opening > at:
        # Closed from `at` until the opening: no minute in between is in the window's hours
        # (the second pass of a repeated hour aside: the window closed at the first).
        assert not in_hours(opening - SECOND, tz, spec)
        probe = at
        while probe < opening:
            assert repeated(probe, tz) or not in_hours(probe, tz, spec), probe
            probe += timedelta(minutes=1)
    # The next day's opening: strictly later, never churning.
    following = next_day_opening(at, name, spec)
    assert following > at
    assert next_opening(following, name, spec) == following
    assert opens_here(following, tz, spec)


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_property_day_boundaries(scenario):
    name, at, *_ = scenario
    tz = ZoneInfo(name)
    today = wall(at, tz).date()
    tomorrow = next_day_opening(at, name, None)
    assert tomorrow > at
    assert wall(tomorrow, tz).date() == today + timedelta(days=1)
    assert wall(tomorrow - SECOND, tz).date() == today  # the first instant of the next day
    start = day_start(at, name)
    assert start <= at
    assert wall(start, tz).date() == today
    assert wall(start - SECOND, tz).date() < today


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_property_add_wait(scenario):
    name, at, days, hours, _spec = scenario
    tz = ZoneInfo(name)
    due = add_wait(at, name, days=days, hours=hours)
    day_end = due - timedelta(hours=hours)  # hours are elapsed time, after the days
    if not days:
        assert day_end == at
        return
    local = wall(at, tz)
    target = datetime.combine(local.date() + timedelta(days=days), local.time())
    if exists(target, tz):  # the same wall-clock time, its first occurrence when repeated
        assert wall(day_end, tz) == target
        assert day_end.astimezone(tz).fold == 0
    else:  # skipped: the first instant after the gap
        assert ends_gap_holding(day_end, tz, target)


@cache
def spring_changes() -> tuple[tuple[str, datetime], ...]:
    """Every (zone, change) in 2026-2027 that skips wall-clock time, whatever the zone."""
    return tuple((name, change) for name in ZONE_NAMES for change in transitions(name)
                 if _offset(change - SECOND, ZoneInfo(name)) < _offset(change, ZoneInfo(name)))


@st.composite
def skipped_times(draw):
    """A spring-forward change somewhere and a wall time (to the minute) that it skips."""
    changes = spring_changes()
    name, change = changes[draw(st.integers(0, len(changes) - 1))]
    tz = ZoneInfo(name)
    gap_start = wall(change - SECOND, tz) + SECOND
    gap = (wall(change, tz) - gap_start) // timedelta(minutes=1)
    return name, change, gap_start + timedelta(minutes=draw(st.integers(0, gap - 1)))


@settings(max_examples=150, deadline=None)
@given(skipped_times(), st.integers(1, 30), st.integers(1, 20 * 60))
def test_property_skipped_openings_and_wait_ends_are_the_end_of_the_gap(skipped, days, early):
    name, change, skipped_wall = skipped
    tz = ZoneInfo(name)
    # A window opening at the skipped time opens at the change, from any time that day before.
    assume(skipped_wall.date() == wall(change, tz).date())  # (not a gap that crosses midnight)
    spec = {"days": [skipped_wall.weekday()], "start": f"{skipped_wall:%H:%M}", "end": "23:59"}
    at = change - timedelta(minutes=early)
    assert next_opening(at, name, spec) == change
    assert next_opening(change, name, spec) == change
    # A wait in days ending at the skipped time ends at the change.
    start_wall = skipped_wall - timedelta(days=days)
    assume(exists(start_wall, tz))
    start = start_wall.replace(tzinfo=tz).astimezone(UTC)
    assert add_wait(start, name, days=days) == change
    assert add_wait(start, name, days=days, hours=3) == change + timedelta(hours=3)


# The two paths against each other over random zones, times, waits and windows (on PostgreSQL).
PATH_ZONES = st.one_of(st.sampled_from(SPECIAL + ["", "Mars/Olympus"]),
                       st.sampled_from(ZONE_NAMES))


def test_property_the_two_paths_agree(world):
    single_id, batch_id = world.add(2)
    seller_id = world.seller.id

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios(), PATH_ZONES)
    def check(scenario, record_zone):
        name, at, days, hours, spec = scenario
        if record_zone not in ("", "Mars/Olympus"):
            record_zone = name
        with world.inside():
            db.session.execute(update(Tenant).where(Tenant.id == world.tenant.id)
                               .values(time_zone=name))
            windows.clear_zone_cache()
            db.session.execute(update(Record).where(Record.id.in_([single_id, batch_id]))
                               .values(time_zone=record_zone))
            seq = _sequence(days, hours, spec)
            single, batch = _both_paths(single_id, batch_id, seq, seller_id, at)
            assert single == batch
            wait_due = add_wait(at, name, days=days, hours=hours) if days or hours else (
                at + timedelta(hours=1))  # an empty wait is one hour
            assert single == (wait_due, next_opening(wait_due, name, spec))

    check()


def test_the_tenant_zone_is_looked_up_once_per_tenant(app, world, monkeypatch):
    calls = []
    real = windows._tenant_zone_name

    def counting(tenant_id):
        calls.append(tenant_id)
        return real(tenant_id)

    monkeypatch.setattr(windows, "_tenant_zone_name", counting)
    with world.inside():
        for _ in range(100):
            next_opening(utc(2026, 11, 23, 20, 0), "Mars/Olympus", WORKDAYS)
            add_wait(utc(2026, 11, 23, 20, 0), "", days=1)
    assert calls == [world.tenant.id]
    with app.app_context(), tenant_context(world.tenant.id):
        assert add_wait(utc(2026, 1, 1), "", days=1) == utc(2026, 1, 2)  # cached (UTC)
    assert calls == [world.tenant.id]
