"""Cleaning record values, shared by the record form and the CSV import.

`clean_values` takes text as a person typed it (or a CSV cell) and returns typed values ready for
the `record` table, or a message per field saying what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

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
from saas.records.models import RecordType
from saas.timeutil import time_zones  # noqa: F401 - the records' zone list

MAX_LENGTH = {"first_name": 100, "last_name": 100, "company": 200}
CUSTOM_TEXT_MAX = 500


@cache
def country_code(value: str) -> str | None:
    try:
        return pycountry.countries.lookup(value.strip()).alpha_2
    except LookupError:
        return None


@cache
def country_name(code: str | None) -> str:
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


def country_choices() -> list[tuple[str, str]]:
    return sorted(((c.alpha_2, getattr(c, "common_name", None) or c.name)
                   for c in pycountry.countries), key=lambda pair: pair[1])


@dataclass
class Context:
    """What cleaning needs to know about the tenant: its users and default time zone."""

    default_time_zone: str = "UTC"
    owners: dict[str, int] = field(default_factory=dict)  # id, email or lowercased name -> id


class Invalid(ValueError):
    pass


def _text(f: Field, raw: str) -> str:
    limit = MAX_LENGTH.get(f.key, CUSTOM_TEXT_MAX)
    if len(raw) > limit:
        raise Invalid(f"Use at most {limit} characters.")
    return raw


def _email(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise Invalid(f"“{raw}” is not a valid email address: {error}") from None


def _phone(raw: str, country: str | None) -> str:
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        if not raw.startswith("+") and not country:
            raise Invalid(f"“{raw}”: add the country code (e.g. +44 20 7946 0958) or a "
                          "country.") from None
        raise Invalid(f"“{raw}” is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(f"“{raw}” is not a valid phone number"
                      f"{' for ' + country_name(country) if country else ''}.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _number(raw: str) -> Decimal:
    try:
        value = Decimal(raw.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        raise Invalid(f"“{raw}” is not a number.") from None
    if not value.is_finite() or abs(value) >= Decimal("1e12"):
        raise Invalid(f"“{raw}” is out of range.")
    return value


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"“{raw}” is not a date; use YYYY-MM-DD.") from None


def _choice(f: Field, raw: str) -> str:
    for value, label in f.choices:
        if raw.lower() in (value.lower(), label.lower()):
            return value
    raise Invalid(f"“{raw}” is not one of: {', '.join(label for _, label in f.choices)}.")


def _owner(raw: str, ctx: Context) -> int:
    owner = ctx.owners.get(raw) or ctx.owners.get(raw.lower())
    if owner is None:
        raise Invalid(f"“{raw}” is not an active user of this organization.")
    return owner


def clean_values(raw: dict[str, str | None], fields: dict[str, Field], record_type: str,
                 ctx: Context, *, partial: bool = False) -> tuple[dict, dict[str, str]]:
    """Typed values for the given raw ones, and errors by field key.

    With `partial`, only the keys present are cleaned (an import updating some columns);
    otherwise missing fields get their defaults and a name is required.
    """
    values: dict = {}
    custom: dict = {}
    errors: dict[str, str] = {}
    country = None
    raw_country = (raw.get("country") or "").strip()
    if raw_country:
        country = country_code(raw_country)
        if country is None:
            errors["country"] = f"“{raw_country}” is not a country."
    for key, f in fields.items():
        if not f.editable or key == "country" or (partial and key not in raw):
            continue
        text = (raw.get(key) or "").strip()
        if not text:
            value = None
        else:
            try:
                value = _clean_one(f, text, country, ctx)
            except Invalid as error:
                errors[key] = str(error)
                continue
        if f.custom:
            if value is not None:
                custom[f.custom_key] = value
            elif partial:
                custom[f.custom_key] = None
        else:
            values[key] = value
    if raw_country or not partial:
        values["country"] = country
    for key in ("first_name", "last_name", "company"):
        if key in values and values[key] is None:
            values[key] = ""
    if not partial:
        if not values.get("first_name") and not values.get("last_name") \
                and "last_name" not in errors:
            errors["last_name"] = "Enter a first or last name."
        values["time_zone"] = values.get("time_zone") or ctx.default_time_zone
        if not values.get("status"):
            values["status"] = "new" if record_type == RecordType.LEAD else "open"
    elif "time_zone" in values and not values["time_zone"]:
        values["time_zone"] = ctx.default_time_zone
    if "status" in values and values["status"] is None:
        del values["status"]
    if custom or not partial:
        values["custom"] = custom
    return values, errors


def _clean_one(f: Field, text: str, country: str | None, ctx: Context):
    if f.kind == TEXT:
        return _text(f, text)
    if f.kind == EMAIL:
        return _email(text)
    if f.kind == PHONE:
        return _phone(text, country)
    if f.kind == NUMBER:
        number = _number(text)
        return float(number) if f.custom else number
    if f.kind == DATE:
        day = _date(text)
        return day.isoformat() if f.custom else day
    if f.kind == CHOICE:
        return _choice(f, text)
    if f.kind == OWNER:
        return _owner(text, ctx)
    if f.kind == TIMEZONE:
        if text not in time_zones():
            raise Invalid(f"“{text}” is not an IANA time zone (e.g. Europe/Paris).")
        return text
    if f.kind in (COUNTRY, DATETIME):  # pragma: no cover - handled by the caller / read-only
        return text
    raise Invalid("Unsupported field.")  # pragma: no cover
