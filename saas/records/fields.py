"""Every field of a record, standard or custom, described once.

Lists, filters, CSV import and export, and segment rules all read this registry, so a custom field
is usable everywhere a standard one is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel.speaklater import LazyString
from sqlalchemy import Boolean, Numeric, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from saas.auth.models import Tenant
from saas.extensions import db
from saas.i18n import _, _l, _pl
from saas.records.models import (
    LEAD_SOURCES,
    LEAD_STATUSES,
    OPPORTUNITY_STAGES,
    OPPORTUNITY_STATUSES,
    CustomField,
    Record,
    RecordType,
    language_name,
    record_languages,
)

# A number written as text ("12", " 4.5 "), as a field created as text then as a number leaves
# it: at most 30 digits either side of the point, no exponent (a cast can never overflow).
NUMERIC_TEXT = r"^\s*[-+]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})\s*$"


class _HoldsNumber(FunctionElement):
    """Whether the JSON document's member `key` holds a number: a JSON number, or text that
    reads as one (NUMERIC_TEXT). Arguments: (document, key)."""

    type = Boolean()
    inherit_cache = True
    name = "holds_number"


@compiles(_HoldsNumber, "postgresql")
def _holds_number_postgresql(element, compiler, **kw):
    document, key = (compiler.process(c, **kw) for c in element.clauses)
    pattern = f"'{NUMERIC_TEXT}'"  # a constant with no quote or percent sign: inlined
    kind = f"jsonb_typeof({document} -> {key})"
    return (f"({kind} = 'number' OR ({kind} = 'string' "
            f"AND ({document} ->> {key}) ~ {pattern}))")


@compiles(_HoldsNumber)
def _holds_number_sqlite(element, compiler, **kw):
    document, key = (compiler.process(c, **kw) for c in element.clauses)
    path = f"'$.\"' || {key} || '\"'"
    kind, text = f"json_type({document}, {path})", f"trim(json_extract({document}, {path}))"
    return (f"({kind} IN ('integer', 'real') OR ({kind} = 'text' AND {text} <> '' "
            f"AND {text} NOT GLOB '*[^0-9.+-]*'))")


TEXT, EMAIL, PHONE, NUMBER, DATE, DATETIME, CHOICE, OWNER, COUNTRY, TIMEZONE = (
    "text", "email", "phone", "number", "date", "datetime", "choice", "owner", "country",
    "time_zone")
LINKEDIN = "linkedin"  # a LinkedIn profile or company page (saas.records.linkedin)


def N_(text: str) -> str:  # noqa: N802 - gettext's name for "extract, translate later"
    """Mark a standard field's English label for extraction; `Field.label` translates it."""
    return text


@dataclass(frozen=True)
class Field:
    key: str
    name: str  # standard fields: the English label (a msgid, the CSV header); custom: as typed
    kind: str
    choices: tuple[tuple[str, str], ...] = ()  # (stored value, label: lazy for standard ones)
    custom: bool = False
    editable: bool = True
    aliases: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        """The label in the viewer's language (a custom field's label is the admin's own)."""
        return self.name if self.custom else _(self.name)

    @property
    def header(self) -> str:
        """The CSV export's column header: the English label, so a file imports back anywhere."""
        return self.name

    def choice_label(self, value) -> str:
        """A stored choice value as people read it (the value itself if it is not a choice)."""
        if value is None or value == "":
            return ""
        for choice, label in self.choices:
            if choice == value:
                return str(label)
        return str(value)

    @property
    def custom_key(self) -> str:
        """The key inside `record.custom` (custom fields' keys are `custom.<key>`)."""
        return self.key.removeprefix("custom.")

    def value_of(self, record: Record):
        """This field's value on a record."""
        return record.custom.get(self.custom_key) if self.custom else getattr(record, self.key)

    def column(self) -> ColumnElement:
        """The SQL expression holding this field's value."""
        if self.key == "language":  # NULL speaks the workspace's language
            return func.coalesce(Record.language, select(Tenant.language).where(
                Tenant.id == Record.tenant_id).scalar_subquery())
        if self.custom:
            if self.kind == NUMBER:
                # Only a number is cast: text in a number field ("abc") matches nothing
                # instead of making the database refuse the whole query.
                return case((_HoldsNumber(Record.custom, literal(self.custom_key)),
                             cast(Record.custom[self.custom_key].as_string(), Numeric)),
                            else_=None)
            return Record.custom[self.custom_key].as_string()
        return getattr(Record, self.key)


SEQUENCE_SETTABLE_KINDS = (TEXT, CHOICE, COUNTRY, TIMEZONE, PHONE)


def sequence_settable(f: Field) -> bool:
    """Whether a sequence's "Update a record field" step may set this field (custom fields of
    any kind; standard ones that are plain values; never the address or the owner)."""
    return f.editable and f.key not in ("email", "owner_id") and (
        f.custom or f.kind in SEQUENCE_SETTABLE_KINDS)


def value_problem(f: Field, value: str) -> str | None:
    """Why `value` (as typed) does not fit this field, or None."""
    value = value.strip()
    if f.choices:
        if value not in {c for c, __ in f.choices} and not (f.key == "language" and not value):
            shown = ", ".join(code for code, __ in f.choices[:10])
            return _("%(field)s takes one of these values: %(values)s.", field=f.label,
                     values=shown)
    elif value and f.kind == NUMBER:
        try:
            float(value)
        except ValueError:
            return _("%(field)s is a number: enter a number such as 12 or 4.5.", field=f.label)
    elif value and f.kind in (DATE, DATETIME):
        try:
            (date if f.kind == DATE else datetime).fromisoformat(value)
        except ValueError:
            return _("%(field)s is a date: enter it as YYYY-MM-DD.", field=f.label)
    return None


# How stored choice values read (the values stay English in the database, imports and exports).
CHOICE_LABELS = {
    "Trade show": _l("Trade show"), "Web": _l("Web"), "Referral": _l("Referral"),
    "Advertisement": _l("Advertisement"), "Partner": _l("Partner"), "Other": _l("Other"),
    "new": _l("New"), "contacted": _l("Contacted"), "qualified": _l("Qualified"),
    "disqualified": _l("Disqualified"), "open": _l("Open"), "won": _l("Won"), "lost": _l("Lost"),
    "qualify": _l("Qualify"), "develop": _l("Develop"), "propose": _l("Propose"),
    "close": _pl("opportunity stage", "Close"),
}


def _choices(values: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((v, CHOICE_LABELS.get(v) or (v.capitalize() if v.islower() else v))
                 for v in values)


LANGUAGE_CHOICES = tuple((code, LazyString(language_name, code)) for code in record_languages())


def search_text() -> ColumnElement:
    """What the search box matches; the PostgreSQL trigram index is built on this expression."""
    return func.lower(Record.first_name + " " + Record.last_name + " " + Record.company + " "
                      + func.coalesce(Record.email, ""))


_COMMON_HEAD = [
    Field("first_name", N_("First name"), TEXT, aliases=("firstname", "first", "given name",
                                                      "prenom", "prénom")),
    Field("last_name", N_("Last name"), TEXT, aliases=("lastname", "last", "surname", "family name",
                                                   "nom")),
    Field("company", N_("Company"), TEXT, aliases=("company name", "organization", "organisation",
                                               "account", "societe", "société", "entreprise")),
    Field("email", N_("Email"), EMAIL, aliases=("e-mail", "email address", "e-mail address", "mail",
                                            "courriel")),
    Field("phone", N_("Phone"), PHONE, aliases=("phone number", "telephone", "téléphone", "mobile",
                                            "business phone", "tel")),
    Field("linkedin_url", N_("LinkedIn URL"), LINKEDIN,
          aliases=("linkedin", "linkedin profile", "linkedin profile url", "linkedin page",
                   "person linkedin url", "profil linkedin", "url linkedin")),
]
_COMMON_TAIL = [
    Field("owner_id", N_("Owner"), OWNER, aliases=("owner", "owner email", "seller",
                                                   "assigned to")),
    Field("country", N_("Country"), COUNTRY, aliases=("country code", "pays")),
    Field("time_zone", N_("Time zone"), TIMEZONE, aliases=("timezone", "tz")),
    Field("language", N_("Language"), CHOICE, LANGUAGE_CHOICES,
          aliases=("langue", "locale", "lang", "language code")),
    Field("created_at", N_("Created"), DATETIME, editable=False,
          aliases=("created", "created on")),
    Field("updated_at", N_("Updated"), DATETIME, editable=False,
          aliases=("updated", "modified on")),
]
LEAD_FIELDS = [
    *_COMMON_HEAD,
    Field("lead_source", N_("Lead source"), CHOICE, _choices(LEAD_SOURCES),
          aliases=("source", "origin")),
    Field("status", N_("Status"), CHOICE, _choices(LEAD_STATUSES), aliases=("lead status",)),
    *_COMMON_TAIL,
]
OPPORTUNITY_FIELDS = [
    *_COMMON_HEAD,
    Field("lead_source", N_("Lead source"), CHOICE, _choices(LEAD_SOURCES),
          aliases=("source", "origin")),
    Field("status", N_("Status"), CHOICE, _choices(OPPORTUNITY_STATUSES)),
    Field("stage", N_("Stage"), CHOICE, _choices(OPPORTUNITY_STAGES), aliases=("sales stage",)),
    Field("estimated_value", N_("Estimated value"), NUMBER, aliases=("value", "amount",
                                                                 "est. value", "revenue")),
    Field("close_date", N_("Close date"), DATE,
          aliases=("est. close date", "estimated close date")),
    *_COMMON_TAIL,
]


def standard_fields(record_type: str) -> list[Field]:
    return LEAD_FIELDS if record_type == RecordType.LEAD else OPPORTUNITY_FIELDS


def custom_fields(record_type: str) -> list[CustomField]:
    return list(db.session.execute(
        select(CustomField).where(CustomField.record_type == record_type)
        .order_by(CustomField.position, CustomField.id)).scalars())


def as_field(custom: CustomField) -> Field:
    choices = tuple((c, c) for c in custom.choices) if custom.kind == CHOICE else ()
    return Field(f"custom.{custom.key}", custom.label, custom.kind, choices, custom=True)


def fields_for(record_type: str) -> dict[str, Field]:
    """Every field of a record type in the current tenant, by key, in display order."""
    result = {f.key: f for f in standard_fields(record_type)}
    for custom in custom_fields(record_type):
        f = as_field(custom)
        result[f.key] = f
    return result
