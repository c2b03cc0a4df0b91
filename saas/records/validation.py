"""Cleaning record values, shared by the record form and the CSV import.

`clean_values` takes text as a person typed it (or a CSV cell) and returns typed values ready for
the `record` table, or a message per field saying what is wrong.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

import phonenumbers
import pycountry
from babel import Locale
from email_validator import EmailNotValidError, validate_email

from saas.i18n import _
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
from saas.records.linkedin import LinkedInUrlError, clean_linkedin_url
from saas.records.models import RecordType, language_name, record_languages
from saas.timeutil import time_zones  # noqa: F401 - the records' zone list
from saas.web.dates import locale as viewer_locale

MAX_LENGTH = {"first_name": 100, "last_name": 100, "company": 200}
CUSTOM_TEXT_MAX = 500


@cache
def country_code(value: str) -> str | None:
    try:
        return pycountry.countries.lookup(value.strip()).alpha_2
    except LookupError:
        return None


@cache
def _english_country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


@cache
def _territories(locale: str) -> dict[str, str]:
    try:
        return dict(Locale.parse(locale).territories)
    except (ValueError, LookupError):  # pragma: no cover - an unknown locale
        return {}


def country_name(code: str | None) -> str:
    """A country's name in the viewer's language (English: pycountry's common name)."""
    if not code:
        return ""
    locale = viewer_locale()
    if not locale.startswith("en"):
        name = _territories(locale).get(code)
        if name:
            return name
    return _english_country_name(code)


def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every country, by name in the viewer's language."""
    names = [(c.alpha_2, country_name(c.alpha_2)) for c in pycountry.countries]
    return sorted(names, key=lambda pair: _plain(pair[1]))


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
        raise Invalid(_("Use at most %(limit)s characters.", limit=limit))
    return raw


def _email(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        if viewer_locale().startswith("en"):  # the validator explains in English only
            raise Invalid(_("“%(value)s” is not a valid email address: %(reason)s", value=raw,
                            reason=error)) from None
        raise Invalid(_("“%(value)s” is not a valid email address.", value=raw)) from None


def _phone(raw: str, country: str | None) -> str:
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        if not raw.startswith("+") and not country:
            raise Invalid(_("“%(value)s”: add the country code (e.g. +44 20 7946 0958) or a "
                            "country.", value=raw)) from None
        raise Invalid(_("“%(value)s” is not a phone number.", value=raw)) from None
    if not phonenumbers.is_valid_number(number):
        if country:
            raise Invalid(_("“%(value)s” is not a valid phone number for %(country)s.",
                            value=raw, country=country_name(country)))
        raise Invalid(_("“%(value)s” is not a valid phone number.", value=raw))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _number(raw: str) -> Decimal:
    try:
        value = Decimal(raw.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        raise Invalid(_("“%(value)s” is not a number.", value=raw)) from None
    if not value.is_finite() or abs(value) >= Decimal("1e12"):
        raise Invalid(_("“%(value)s” is out of range.", value=raw))
    return value


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(_("“%(value)s” is not a date; use YYYY-MM-DD.", value=raw)) from None


def _choice(f: Field, raw: str) -> str:
    wanted = raw.lower()
    for value, __ in f.choices:  # the stored values first: no label translated for them
        if wanted == value.lower():
            return value
    for value, label in f.choices:
        if wanted == str(label).lower():
            return value
    raise Invalid(_("“%(value)s” is not one of: %(choices)s.", value=raw,
                    choices=", ".join(str(label) for __, label in f.choices)))


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _language_names() -> dict[str, str]:
    """Code by name: each language's English, French and own name, without accents or case."""
    names: dict[str, str] = {}
    for code in record_languages():
        for locale in ("en", "fr", code):
            names.setdefault(_plain(language_name(code, locale)), code)
    return names


def language_code(raw: str) -> str | None:
    """The record language a cell or a form means: a code (fr, FR, fr-CA, fr_CA) or a name in
    English, French or the language itself (French, français), or None."""
    text = raw.strip()
    base = text.replace("_", "-").split("-")[0].lower()
    if base in record_languages():
        return base
    return _language_names().get(_plain(text))


def _language(raw: str) -> str:
    code = language_code(raw)
    if code is None:
        raise Invalid(_("“%(value)s” is not a language: use a code such as fr or en, or a name "
                        "such as French.", value=raw))
    return code


def _owner(raw: str, ctx: Context) -> int:
    owner = ctx.owners.get(raw) or ctx.owners.get(raw.lower())
    if owner is None:
        raise Invalid(_("“%(value)s” is not an active user of this organization.", value=raw))
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
            errors["country"] = _("“%(value)s” is not a country.", value=raw_country)
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
            errors["last_name"] = _("Enter a first or last name.")
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
    if f.kind == LINKEDIN:
        try:
            return clean_linkedin_url(text)
        except LinkedInUrlError as error:
            raise Invalid(str(error)) from None
    if f.kind == NUMBER:
        number = _number(text)
        return float(number) if f.custom else number
    if f.kind == DATE:
        day = _date(text)
        return day.isoformat() if f.custom else day
    if f.key == "language":
        return _language(text)
    if f.kind == CHOICE:
        return _choice(f, text)
    if f.kind == OWNER:
        return _owner(text, ctx)
    if f.kind == TIMEZONE:
        if text not in time_zones():
            raise Invalid(_("“%(value)s” is not an IANA time zone (e.g. Europe/Paris).",
                            value=text))
        return text
    if f.kind in (COUNTRY, DATETIME):  # pragma: no cover - handled by the caller / read-only
        return text
    raise Invalid(_("Unsupported field."))  # pragma: no cover
