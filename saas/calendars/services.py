"""Changes to the tenant's calendar: its working week, closure days added one by one or from a
public-holiday preset, and removed. Each change commits and is audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import holidays
from flask_babel import get_locale
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from saas.admin import audit
from saas.calendars.models import DEFAULT_DAYS, DEFAULT_END, DEFAULT_START, Calendar, ClosureDay
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l, ngettext
from saas.timeutil import utcnow

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_NAME = 120
MAX_CLOSURE_DAYS = 1000


@dataclass(frozen=True)
class Preset:
    key: str
    label: object
    country: str
    subdiv: str | None = None


PRESETS = {p.key: p for p in (
    Preset("fr", _l("France: public holidays"), "FR"),
    Preset("gb-eng", _l("England: bank holidays"), "GB", "ENG"),
)}


class CalendarInvalid(ServiceError):
    """`errors` by form field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_l("Some fields need attention."))
        self.errors = errors


@dataclass(frozen=True)
class WorkingWeek:
    days: list[int]
    start: str
    end: str


def working_week() -> WorkingWeek:
    """The tenant's working week (the default, Monday to Friday 09:00-17:00, when never set)."""
    row = db.session.execute(select(Calendar)).scalar_one_or_none()
    days = row.working_days if row else DEFAULT_DAYS
    return WorkingWeek([int(c) for c in days], row.day_start if row else DEFAULT_START,
                       row.day_end if row else DEFAULT_END)


def closure_days() -> list[ClosureDay]:
    return list(db.session.execute(
        select(ClosureDay).order_by(ClosureDay.day).limit(MAX_CLOSURE_DAYS)).scalars())


def _forget() -> None:
    from saas.engine.working_time import forget  # the engine's per-transaction copy

    forget()


def check_week(days: list[int], start: str, end: str) -> dict[str, str]:
    errors = {}
    if not days or any(d not in range(7) for d in days):
        errors["days"] = _("Choose at least one working day.")
    if not (_TIME.match(start or "") and _TIME.match(end or "")):
        errors["day_start"] = _("Enter the hours as HH:MM, e.g. 09:00 and 17:00.")
    elif start >= end:
        errors["day_start"] = _("The working day must end after it starts.")
    return errors


def save_working_week(days: list[int], start: str, end: str) -> None:
    errors = check_week(days, start, end)
    if errors:
        raise CalendarInvalid(errors)
    row = db.session.execute(select(Calendar).with_for_update()).scalar_one_or_none()
    if row is None:
        row = Calendar()
        db.session.add(row)
    row.working_days = "".join(str(d) for d in sorted(set(days)))
    row.day_start, row.day_end, row.updated_at = start, end, utcnow()
    audit.record("calendar.working_week", "", days=row.working_days, start=start, end=end)
    _commit({"days": _("The working week was saved meanwhile by someone else; save again.")})


def add_closure_day(day: date | None, name: str) -> ClosureDay:
    name = (name or "").strip()
    errors = {}
    if day is None:
        errors["day"] = _("Enter a date, e.g. 2026-12-25.")
    elif not 2000 <= day.year <= 2100:
        errors["day"] = _("Enter a date between 2000 and 2100.")
    if not name:
        errors["name"] = _("Enter a name, e.g. Christmas Day.")
    elif len(name) > MAX_NAME:
        errors["name"] = _("Use at most 120 characters.")
    if not errors and db.session.execute(
            select(ClosureDay.id).where(ClosureDay.day == day)).first():
        errors["day"] = _("This day is already a closure day.")
    if errors:
        raise CalendarInvalid(errors)
    closure = ClosureDay(day=day, name=name)
    db.session.add(closure)
    audit.record("calendar.closure_added", name, day=day.isoformat())
    _commit({"day": _("This day is already a closure day.")})
    return closure


def _commit(conflict: dict[str, str]) -> None:
    """Commit; a day added at the same moment by someone else (the unique index) is an error
    next to the field, not a 500."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise CalendarInvalid(conflict) from None
    finally:
        _forget()


def remove_closure_day(closure: ClosureDay) -> None:
    day, name = closure.day, closure.name
    db.session.execute(delete(ClosureDay).where(ClosureDay.id == closure.id)
                       .execution_options(synchronize_session=False))
    audit.record("calendar.closure_removed", name, day=day.isoformat())
    db.session.commit()
    _forget()


def _language(preset: Preset) -> str | None:
    wanted = str(get_locale() or "en")
    supported = holidays.country_holidays(preset.country, subdiv=preset.subdiv)
    if wanted.startswith("fr") and "fr" in supported.supported_languages:
        return "fr"
    return "en_GB" if "en_GB" in supported.supported_languages else "en_US"


def preset_days(key: str, years: list[int]) -> list[tuple[date, str]]:
    """The preset's public holidays in these years, named in the page's language."""
    preset = PRESETS.get(key)
    if preset is None:
        raise CalendarInvalid({"preset": _("Choose a preset from the list.")})
    found = holidays.country_holidays(preset.country, subdiv=preset.subdiv, years=years,
                                      language=_language(preset))
    return sorted((day, str(name)[:MAX_NAME]) for day, name in found.items())


def apply_preset(key: str, today: date) -> int:
    """Add the preset's holidays of this year and the next (the days not closed already);
    returns how many were added."""
    days = preset_days(key, [today.year, today.year + 1])
    known = set(db.session.execute(select(ClosureDay.day).where(
        ClosureDay.day.in_([d for d, _name in days]))).scalars())
    added = [ClosureDay(day=d, name=name) for d, name in days if d not in known]
    db.session.add_all(added)
    audit.record("calendar.preset_applied", str(PRESETS[key].label), added=len(added))
    _commit({"preset": _("The closure days changed meanwhile; apply the preset again.")})
    return len(added)


def added_message(count: int) -> str:
    if not count:
        return _("These holidays were all closure days already: nothing was added.")
    return ngettext("%(num)d closure day added.", "%(num)d closure days added.", count)
