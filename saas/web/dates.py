"""Dates and times as people read them: Babel's formats, in the viewer's time zone.

Everything is stored in UTC; every template prints moments through these helpers, so a page shows
one format, in one zone: the signed-in user's, else the workspace's, else UTC. The locale is a
parameter defaulting to `locale()`, the viewer's language as Flask-Babel chose it
(`saas/i18n.py`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates as babel_dates
from flask import Flask, g, has_request_context
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from saas.i18n import _
from saas.timeutil import aware, utcnow

DEFAULT_LOCALE = "en"


def locale() -> str:
    """The viewer's locale, as Flask-Babel chose it (English outside a request or app)."""
    chosen = get_locale()
    return str(chosen) if chosen is not None else DEFAULT_LOCALE


def zone(name: str | None) -> ZoneInfo:
    """An IANA zone by name; UTC for an empty or unknown name."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_zone(name: str | None) -> bool:
    """True for an IANA zone name this machine knows ("Asia/Tokyo"); False for anything else."""
    if not name or len(name) > 64 or name != name.strip() or name.startswith("/") \
            or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def viewer_zone() -> ZoneInfo:
    """The signed-in user's zone, else the workspace's, else UTC."""
    if has_request_context():
        if getattr(current_user, "is_authenticated", False) and current_user.time_zone:
            return zone(current_user.time_zone)
        tenant = g.get("tenant")
        if tenant is not None and getattr(tenant, "time_zone", None):
            return zone(tenant.time_zone)
    return ZoneInfo("UTC")


def _in(value: datetime, tz: tzinfo | None) -> datetime:
    return aware(value).astimezone(tz or viewer_zone())


# How a language joins a date and a time said together where that differs from the medium
# format Babel has ("{1}, {0}" in French): CLDR's "atTime" dateTimeFormat, which Babel does not
# carry ("2 déc. 2026 à 14:30", as issue 19 writes it). A language missing here joins them as
# its medium format does ("Dec 2, 2026, 2:30 PM").
AT_TIME = {"fr": "{1} 'à' {0}"}


def format_datetime(value: datetime | None, tz: tzinfo | None = None,
                    locale_name: str | None = None) -> str:
    """A moment: "Nov 24, 2026, 6:00 PM", "24 nov. 2026 à 18:00" (CLDR's medium date and short
    time, joined as the language says them together)."""
    if value is None:
        return ""
    loc = locale_name or locale()
    local = _in(value, tz)
    pattern = AT_TIME.get(str(loc).split("_")[0]) or \
        babel_dates.get_datetime_format("medium", locale=loc)
    return (pattern.replace("'", "")
            .replace("{0}", babel_dates.format_time(local, "short", locale=loc))
            .replace("{1}", babel_dates.format_date(local, "medium", locale=loc)))


def format_full(value: datetime | None, tz: tzinfo | None = None,
                locale_name: str | None = None) -> str:
    """Everything about a moment, zone included (for a `title`)."""
    if value is None:
        return ""
    local = _in(value, tz)
    return babel_dates.format_datetime(local, "full", tzinfo=local.tzinfo,
                                       locale=locale_name or locale())


def format_date(value: date | datetime | None, tz: tzinfo | None = None,
                locale_name: str | None = None) -> str:
    """A day: "Nov 24, 2026". A moment is first put in the viewer's zone; a date stays."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _in(value, tz).date()
    return babel_dates.format_date(value, "medium", locale=locale_name or locale())


def format_time(value: datetime | None, tz: tzinfo | None = None,
                locale_name: str | None = None) -> str:
    """A time of day: "6:00 PM"."""
    if value is None:
        return ""
    return babel_dates.format_time(_in(value, tz), "short", locale=locale_name or locale())


def format_span(delta: timedelta, locale_name: str | None = None) -> str:
    """A length of time, rounded as people say it: "2 hours", "3 days"."""
    return babel_dates.format_timedelta(abs(delta), format="long",
                                        locale=locale_name or locale())


def due_phrase(due: datetime | None, now: datetime | None = None,
               locale_name: str | None = None) -> str:
    """"due in 2 hours", "3 days overdue", "due now"."""
    if due is None:
        return ""
    delta = aware(due) - (now or utcnow())
    if abs(delta) < timedelta(minutes=1):
        return _("due now")
    span = format_span(delta, locale_name)
    if delta > timedelta(0):
        return _("due in %(span)s", span=span)
    return _("%(span)s overdue", span=span)


def place_of(zone_name: str, locale_name: str | None = None) -> str:
    """The city a zone is named after ("Tokyo"), or its name ("UTC")."""
    return babel_dates.get_timezone_location(zone(zone_name), locale=locale_name or locale(),
                                             return_city=True)


def elsewhere(value: datetime | None, zone_name: str | None, tz: tzinfo | None = None,
              locale_name: str | None = None) -> str:
    """"10:00 AM for you · 5:00 PM in Tokyo" when the record's zone shows another time than
    the viewer's at that moment; "" when they agree or the record has no zone."""
    if value is None or not zone_name or not is_zone(zone_name):
        return ""
    mine, theirs = _in(value, tz), _in(value, zone(zone_name))
    if mine.utcoffset() == theirs.utcoffset():
        return ""
    loc = locale_name or locale()
    if mine.date() == theirs.date():
        mine_text = babel_dates.format_time(mine, "short", locale=loc)
        theirs_text = babel_dates.format_time(theirs, "short", locale=loc)
    else:  # the other side of midnight: say which day
        mine_text = babel_dates.format_skeleton("Ehm", mine, tzinfo=mine.tzinfo, locale=loc)
        theirs_text = babel_dates.format_skeleton("Ehm", theirs, tzinfo=theirs.tzinfo,
                                                  locale=loc)
    return _("%(mine)s for you · %(theirs)s in %(place)s", mine=mine_text, theirs=theirs_text,
             place=place_of(zone_name, loc))


def _parsed(value: str) -> datetime | date | str:
    """A custom field's stored ISO text as a date or a moment (UTC when it names no zone)."""
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else aware(datetime.fromisoformat(text))
    except ValueError:
        return value


def time_tag(value: datetime | date | str | None, text: str | None = None) -> Markup:
    """`<time>` with the machine-readable moment and the full local time as its title; shows
    `text` or the formatted moment (a day for a date). ISO text (a custom field) is read first."""
    if isinstance(value, str):
        value = _parsed(value)
        if isinstance(value, str):
            return Markup("{}").format(value)
    if value is None:
        return Markup("")
    if isinstance(value, datetime):
        moment = aware(value)
        shown = format_datetime(moment) if text is None else text
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            moment.isoformat(), format_full(moment), shown)
    shown = format_date(value) if text is None else text
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), shown)


def now_in(zone_name: str | None) -> str:
    """The time now in a zone, for a hint next to a zone picker: "Nov 24, 2026, 6:00 PM"."""
    return format_datetime(utcnow(), zone(zone_name))


def register(app: Flask) -> None:
    """Template filters (`|datetime`, `|date`, `|time`) and globals (`when`, `time_tag`,
    `due_phrase`, `elsewhere`)."""
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.globals.update(when=format_datetime, time_tag=time_tag, due_phrase=due_phrase,
                                 elsewhere=elsewhere, now_in=now_in)
