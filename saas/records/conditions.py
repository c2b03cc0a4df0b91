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

from saas.records.fields import (
    CHOICE,
    COUNTRY,
    DATE,
    DATETIME,
    EMAIL,
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

OPERATORS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "contains": "contains",
    "begins_with": "begins with",
    "in_list": "is one of",
    "gt": "is greater than",
    "lt": "is less than",
    "between": "is between",
    "before": "is before",
    "after": "is after",
    "on": "is on",
    "in_last_days": "is in the last N days",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
}
NO_VALUE = {"is_empty", "is_not_empty"}
TWO_VALUES = {"between"}

_TEXTUAL = ("equals", "not_equals", "contains", "begins_with", "in_list", "is_empty",
            "is_not_empty")
_LISTED = ("equals", "not_equals", "in_list", "is_empty", "is_not_empty")
_NUMERIC = ("equals", "not_equals", "gt", "lt", "between", "is_empty", "is_not_empty")
_DATED = ("on", "before", "after", "between", "in_last_days", "is_empty", "is_not_empty")
OPERATORS_BY_KIND = {
    TEXT: _TEXTUAL, EMAIL: _TEXTUAL, PHONE: _TEXTUAL, TIMEZONE: _TEXTUAL,
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
        raise ConditionError(f"{field.label}: “{raw}” is not a number.")
    text = str(raw).strip().replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text) if len(text) <= 40 else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ConditionError(f"{field.label}: “{str(raw)[:40]}” is not a number.")
    if abs(number) >= MAX_NUMBER:
        raise ConditionError(f"{field.label}: the number is too large.")
    return number


def _date(field: Field, raw) -> date:
    try:
        day = date.fromisoformat(str(raw).strip()[:10])
        if day.year >= 9999:  # the day after would overflow
            raise ValueError(day)
        return day
    except ValueError:
        raise ConditionError(f"{field.label}: “{raw}” is not a date (YYYY-MM-DD).") from None


def _choice(field: Field, raw) -> str:
    value = str(raw).strip()
    if field.kind == CHOICE and field.choices:
        by_lower = {v.lower(): v for v, _ in field.choices}
        if value.lower() not in by_lower:
            allowed = ", ".join(label for _, label in field.choices)
            raise ConditionError(f"{field.label}: “{value}” is not one of {allowed}.")
        return by_lower[value.lower()]
    if field.kind == OWNER:
        user_id = parse_id(value)
        if user_id is None:
            raise ConditionError(f"{field.label}: choose a user.")
        return user_id
    if field.kind == COUNTRY:
        return value.upper()
    return value


def _both(field: Field, value, parse) -> tuple:
    items = _as_list(value)
    if len(items) != 2:
        raise ConditionError(f"{field.label}: “between” needs two values.")
    low, high = parse(field, items[0]), parse(field, items[1])
    return (low, high) if low <= high else (high, low)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def compile_condition(field: Field, op: str, value=None) -> ColumnElement:
    """SQL for `field op value`; raises ConditionError when it makes no sense."""
    if op not in OPERATORS_BY_KIND[field.kind]:
        raise ConditionError(f"{field.label}: “{OPERATORS.get(op, op)}” does not apply here.")
    col = field.column()
    textual = field.kind in (TEXT, EMAIL, PHONE, TIMEZONE)

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
        raise ConditionError(f"{field.label}: the value is too long "
                             f"(at most {MAX_VALUE} characters).")
    if op not in TWO_VALUES and op != "in_list" and str(value if value is not None else "") \
            .strip() == "":
        raise ConditionError(f"{field.label}: enter a value.")

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
                raise ConditionError(f"{field.label}: enter at least one value.")
            return lowered.in_(items)

    if field.kind in (CHOICE, OWNER, COUNTRY):
        if op == "in_list":
            items = [_choice(field, v) for v in _as_list(value)]
            if not items:
                raise ConditionError(f"{field.label}: choose at least one value.")
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

    raise ConditionError(f"{field.label}: this field cannot be filtered.")  # pragma: no cover


def _compile_date(field: Field, col, op: str, value) -> ColumnElement:
    if op == "in_last_days":
        try:
            days = int(str(value).strip())
        except ValueError:
            raise ConditionError(f"{field.label}: enter a whole number of days.") from None
        if days < 0 or days > 36500:
            raise ConditionError(f"{field.label}: the number of days must be 0 to 36500.")
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
    start, _ = _day_bounds(low)
    _, end = _day_bounds(high)
    return {"on": and_(col >= start, col < end), "before": col < start, "after": col >= end,
            "between": and_(col >= start, col < end)}[op]
