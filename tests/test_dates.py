"""The date helpers every template uses: Babel's formats, in the viewer's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import g

from saas.web import dates

NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM
TOKYO, PARIS, NEW_YORK = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Paris"), \
    ZoneInfo("America/New_York")


def t(text: str) -> str:
    return text.replace(" AM", NNBSP + "AM").replace(" PM", NNBSP + "PM")


def test_a_moment_in_a_zone():
    moment = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert dates.format_datetime(moment, TOKYO) == t("Nov 24, 2026, 6:00 PM")
    assert dates.format_datetime(moment, NEW_YORK) == t("Nov 24, 2026, 4:00 AM")
    assert dates.format_time(moment, PARIS) == t("10:00 AM")
    assert dates.format_datetime(None) == "" and dates.format_date(None) == ""


def test_the_day_is_the_viewers_day():
    late_utc = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # already the 25th in Tokyo
    assert dates.format_date(late_utc, TOKYO) == "Nov 25, 2026"
    assert dates.format_date(late_utc, NEW_YORK) == "Nov 24, 2026"
    assert dates.format_date(date(2026, 3, 1)) == "Mar 1, 2026"  # a date stays a date


def test_naive_values_are_the_utc_they_were_stored_as():
    assert dates.format_datetime(datetime(2026, 1, 5, 12, 0), TOKYO) == t("Jan 5, 2026, 9:00 PM")


def test_daylight_saving_time():
    # Paris changes on 29 March 2026 at 01:00 UTC: 10:00 UTC is 11:00 before, 12:00 after.
    assert dates.format_time(datetime(2026, 3, 28, 10, 0, tzinfo=UTC), PARIS) == t("11:00 AM")
    assert dates.format_time(datetime(2026, 3, 29, 10, 0, tzinfo=UTC), PARIS) == t("12:00 PM")
    # New York falls back on 1 November 2026: the same 14:00 UTC, an hour earlier there.
    assert dates.format_time(datetime(2026, 10, 31, 14, 0, tzinfo=UTC), NEW_YORK) == \
        t("10:00 AM")
    assert dates.format_time(datetime(2026, 11, 2, 14, 0, tzinfo=UTC), NEW_YORK) == t("9:00 AM")
    assert "Central European Summer Time" in \
        dates.format_full(datetime(2026, 7, 1, 7, 30, tzinfo=UTC), PARIS)


@pytest.mark.parametrize(("delta", "phrase"), [
    (timedelta(hours=2), "due in 2 hours"),
    (timedelta(minutes=20), "due in 20 minutes"),
    (timedelta(days=1, hours=1), "due in 1 day"),
    (timedelta(seconds=30), "due now"),
    (-timedelta(seconds=30), "due now"),
    (-timedelta(hours=5), "5 hours overdue"),
    (-timedelta(days=3, hours=2), "3 days overdue"),
    (-timedelta(days=21), "3 weeks overdue"),
])
def test_relative_due_wording(delta, phrase):
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert dates.due_phrase(now + delta, now) == phrase


def test_the_records_own_time_when_it_differs():
    moment = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert dates.elsewhere(moment, "Asia/Tokyo", PARIS) == \
        t("2:00 AM for you · 10:00 AM in Tokyo")
    assert dates.elsewhere(moment, "Asia/Tokyo", TOKYO) == ""  # the same zone
    assert dates.elsewhere(moment, "Asia/Seoul", TOKYO) == ""  # the same time
    assert dates.elsewhere(moment, "Not/AZone", PARIS) == ""
    assert dates.elsewhere(moment, None, PARIS) == ""
    # Across midnight the day is named (CLDR's pattern for that has a plain space).
    assert dates.elsewhere(moment, "America/New_York", TOKYO) == \
        "Tue 10:00 AM for you · Mon 8:00 PM in New York"
    assert dates.elsewhere(moment, "UTC", TOKYO) == t("10:00 AM for you · 1:00 AM in UTC")


def test_zone_names():
    assert dates.is_zone("Asia/Tokyo") and dates.is_zone("UTC")
    for bad in ("", None, "Mars/Olympus", "../etc/passwd", "/etc/localtime", " Asia/Tokyo",
                "x" * 65):
        assert not dates.is_zone(bad)
    assert dates.zone("Mars/Olympus") == ZoneInfo("UTC")


def test_time_tag_carries_the_moment_and_the_full_local_time(app):
    moment = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    with app.test_request_context():
        g.tenant = SimpleNamespace(time_zone="Europe/Paris")  # nobody signed in: the tenant's
        html = str(dates.time_tag(moment))
        assert html.startswith('<time datetime="2026-07-01T07:30:00+00:00" '
                               'title="Wednesday, July 1')
        assert t(">Jul 1, 2026, 9:30 AM</time>") in html
        assert str(dates.time_tag(moment, "<b>due</b>")).endswith(">&lt;b&gt;due&lt;/b&gt;</time>")
        assert str(dates.time_tag(date(2026, 7, 1))) == \
            '<time datetime="2026-07-01">Jul 1, 2026</time>'
        assert "Jul 1, 2026" in str(dates.time_tag("2026-07-01"))  # custom fields keep ISO text
        assert str(dates.time_tag("soon")) == "soon"
        assert str(dates.time_tag(None)) == ""


def test_the_viewer_zone_falls_back_to_utc(app):
    with app.test_request_context():
        assert dates.viewer_zone() == ZoneInfo("UTC")
    assert dates.viewer_zone() == ZoneInfo("UTC")  # outside a request


def test_date_times_read_back_aware_utc_on_sqlite_and_postgresql(app):
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

    from saas.extensions import db
    from saas.timeutil import UtcDateTime

    paris = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    table = Table("utc_check", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UtcDateTime))
    with app.app_context():
        for engine in (create_engine("sqlite://"), db.engine):
            with engine.begin() as conn:
                table.create(conn)
                conn.execute(insert(table).values(id=1, at=paris))
                stored = conn.execute(select(table.c.at)).scalar_one()
                table.drop(conn)
            assert stored == paris and stored.utcoffset() is not None, engine.dialect.name
            assert stored.astimezone(UTC).hour == 1


def test_french_moments_numbers_and_percentages():
    """Issue 19's examples: "2 déc. 2026 à 14:30", "1 234,5", "12,3 %" (CLDR's spaces: a narrow
    no-break space groups thousands, a no-break space comes before %)."""
    from saas.web.numbers import format_number, format_percent

    moment = datetime(2026, 12, 2, 13, 30, tzinfo=UTC)
    assert dates.format_datetime(moment, PARIS, "fr") == "2 déc. 2026 à 14:30"
    assert dates.format_datetime(moment, PARIS, "fr_FR") == "2 déc. 2026 à 14:30"
    assert dates.format_date(moment, PARIS, "fr") == "2 déc. 2026"
    assert dates.format_time(moment, PARIS, "fr") == "14:30"
    assert format_number(1234.5, 1, "fr") == "1\u202f234,5"
    assert format_percent(0.123, 1, "fr") == "12,3\u00a0%"
    assert format_number(1234.5, 1, "en") == "1,234.5" and format_percent(0.123, 1, "en") == "12.3%"
