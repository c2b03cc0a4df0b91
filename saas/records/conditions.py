"""One condition on a record field (field, operator, value) compiled to a SQL expression.

List filters use it; segment rules (And/Or groups of conditions) compile through it too. Values
arrive as text (query strings, forms) or JSON (saved rules) and are parsed by the field's kind; a
bad value raises `ConditionError` with a sentence a person can act on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, func, or_
from sqlalchemy.sql.elements import ColumnElement

from saas.i18n import _, _l
from saas.records.fields import (
    CHOICE,
    COUNTRY,
    DATE,
    DATETIME,
    EMAIL,
    LINKEDIN,
    NUMBER,
    OWNER,
    PHONE,
    TEXT,
    TIMEZONE,
    Field,
)
from saas.records.models import Record
from saas.timeutil import utcnow
from saas.web.ids import parse_id

OPERATORS = {  # labels of the rule builder's and the filters' operators
    "equals": _l("equals"),
    "not_equals": _l("does not equal"),
    "contains": _l("contains"),
    "begins_with": _l("begins with"),
    "in_list": _l("is one of"),
    "gt": _l("is greater than"),
    "lt": _l("is less than"),
    "between": _l("is between"),
    "before": _l("is before"),
    "after": _l("is after"),
    "on": _l("is on"),
    "in_last_days": _l("is in the last N days"),
    "is_empty": _l("is empty"),
    "is_not_empty": _l("is not empty"),
}
NO_VALUE = {"is_empty", "is_not_empty"}
TWO_VALUES = {"between"}

_TEXTUAL = ("equals", "not_equals", "contains", "begins_with", "in_list", "is_empty",
            "is_not_empty")
_LISTED = ("equals", "not_equals", "in_list", "is_empty", "is_not_empty")
_NUMERIC = ("equals", "not_equals", "gt", "lt", "between", "is_empty", "is_not_empty")
_DATED = ("on", "before", "after", "between", "in_last_days", "is_empty", "is_not_empty")
OPERATORS_BY_KIND = {
    TEXT: _TEXTUAL, EMAIL: _TEXTUAL, PHONE: _TEXTUAL, TIMEZONE: _TEXTUAL, LINKEDIN: _TEXTUAL,
    CHOICE: _LISTED, OWNER: _LISTED, COUNTRY: _LISTED,
    NUMBER: _NUMERIC, DATE: _DATED, DATETIME: _DATED,
}


class ConditionError(ValueError):
    """The condition cannot be used; the message says why."""


def operators_for(field: Field) -> list[tuple[str, str]]:
    return [(op, OPERATORS[op]) for op in OPERATORS_BY_KIND[field.kind]]


def _as_list(value) -> list[str]:
    if isinstance(value, list):
        items = value
    else:
        items = str(value or "").replace(";", ",").split(",")
    return [str(v).strip() for v in items if str(v).strip()]


MAX_NUMBER = Decimal(10) ** 15  # beyond any amount a record holds; PostgreSQL stays exact
MAX_VALUE = 1000  # characters in a condition's value


def _number(field: Field, raw) -> Decimal:
    if isinstance(raw, bool):  # JSON true/false is no number
        raise ConditionError(_("%(field)s: “%(value)s” is not a number.", field=field.label,
                               value=raw))
    text = str(raw).strip().replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text) if len(text) <= 40 else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ConditionError(_("%(field)s: “%(value)s” is not a number.", field=field.label,
                               value=str(raw)[:40]))
    if abs(number) >= MAX_NUMBER:
        raise ConditionError(_("%(field)s: the number is too large.", field=field.label))
    return number


def _date(field: Field, raw) -> date:
    try:
        day = date.fromisoformat(str(raw).strip()[:10])
        if day.year >= 9999:  # the day after would overflow
            raise ValueError(day)
        return day
    except ValueError:
        raise ConditionError(_("%(field)s: “%(value)s” is not a date (YYYY-MM-DD).",
                               field=field.label, value=raw)) from None


def _choice(field: Field, raw) -> str:
    value = str(raw).strip()
    if field.kind == CHOICE and field.choices:
        by_lower = {v.lower(): v for v, __ in field.choices}
        if value.lower() not in by_lower:
            allowed = ", ".join(str(label) for __, label in field.choices)
            raise ConditionError(_("%(field)s: “%(value)s” is not one of %(choices)s.",
                                   field=field.label, value=value, choices=allowed))
        return by_lower[value.lower()]
    if field.kind == OWNER:
        user_id = parse_id(value)
        if user_id is None:
            raise ConditionError(_("%(field)s: choose a user.", field=field.label))
        return user_id
    if field.kind == COUNTRY:
        return value.upper()
    return value


def _both(field: Field, value, parse) -> tuple:
    items = _as_list(value)
    if len(items) != 2:
        raise ConditionError(_("%(field)s: “between” needs two values.", field=field.label))
    low, high = parse(field, items[0]), parse(field, items[1])
    return (low, high) if low <= high else (high, low)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def compile_condition(field: Field, op: str, value=None) -> ColumnElement:
    """SQL for `field op value`; raises ConditionError when it makes no sense."""
    if op not in OPERATORS_BY_KIND[field.kind]:
        raise ConditionError(_("%(field)s: “%(operator)s” does not apply here.",
                               field=field.label, operator=OPERATORS.get(op, op)))
    col = field.column()
    textual = field.kind in (TEXT, EMAIL, PHONE, TIMEZONE, LINKEDIN)

    if op in NO_VALUE:
        if field.custom:  # judge emptiness on the JSON text, whatever the field's kind
            raw = Record.custom[field.custom_key].as_string()
            empty = or_(raw.is_(None), raw == "")
        elif textual:
            empty = or_(col.is_(None), col == "")
        else:
            empty = col.is_(None)
        return empty if op == "is_empty" else ~empty

    if len(str(value if value is not None else "")) > MAX_VALUE:
        raise ConditionError(_("%(field)s: the value is too long (at most %(limit)s "
                               "characters).", field=field.label, limit=MAX_VALUE))
    if op not in TWO_VALUES and op != "in_list" and str(value if value is not None else "") \
            .strip() == "":
        raise ConditionError(_("%(field)s: enter a value.", field=field.label))

    if textual:
        text = str(value).strip()
        if field.kind == EMAIL:
            text = text.lower()
        lowered = func.lower(col)
        if op == "equals":
            return lowered == text.lower()
        if op == "not_equals":
            return or_(col.is_(None), lowered != text.lower())
        if op == "contains":
            return col.icontains(text, autoescape=True)
        if op == "begins_with":
            return col.istartswith(text, autoescape=True)
        if op == "in_list":
            items = [i.lower() for i in _as_list(value)]
            if not items:
                raise ConditionError(_("%(field)s: enter at least one value.",
                                       field=field.label))
            return lowered.in_(items)

    if field.kind in (CHOICE, OWNER, COUNTRY):
        if op == "in_list":
            items = [_choice(field, v) for v in _as_list(value)]
            if not items:
                raise ConditionError(_("%(field)s: choose at least one value.",
                                       field=field.label))
            return col.in_(items)
        chosen = _choice(field, value)
        if op == "equals":
            return col == chosen
        return or_(col.is_(None), col != chosen)

    if field.kind == NUMBER:
        if op == "between":
            low, high = _both(field, value, _number)
            return and_(col >= low, col <= high)
        number = _number(field, value)
        return {"equals": col == number, "not_equals": or_(col.is_(None), col != number),
                "gt": col > number, "lt": col < number}[op]

    if field.kind in (DATE, DATETIME):
        return _compile_date(field, col, op, value)

    raise ConditionError(  # pragma: no cover
        _("%(field)s: this field cannot be filtered.", field=field.label))


def _compile_date(field: Field, col, op: str, value) -> ColumnElement:
    if op == "in_last_days":
        try:
            days = int(str(value).strip())
        except ValueError:
            raise ConditionError(_("%(field)s: enter a whole number of days.",
                                   field=field.label)) from None
        if days < 0 or days > 36500:
            raise ConditionError(_("%(field)s: the number of days must be 0 to 36500.",
                                   field=field.label))
        since = utcnow() - timedelta(days=days)
        return col >= (since.date().isoformat() if field.custom else
                       since.date() if field.kind == DATE else since)
    if op == "between":
        low, high = _both(field, value, _date)
    else:
        low = high = _date(field, value)
    if field.kind == DATE:
        if field.custom:
            low, high = low.isoformat(), high.isoformat()
        return {"on": col == low, "before": col < low, "after": col > high,
                "between": and_(col >= low, col <= high)}[op]
    start, __ = _day_bounds(low)
    __, end = _day_bounds(high)
    return {"on": and_(col >= start, col < end), "before": col < start, "after": col >= end,
            "between": and_(col >= start, col < end)}[op]
