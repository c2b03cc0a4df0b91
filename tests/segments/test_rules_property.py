"""Property: a compiled segment rule tree selects exactly the records a plain Python reading of
the rules selects, for every operator on every field kind, on PostgreSQL and on SQLite.

The Python evaluator below is written from the documented meaning of each operator
(saas/records/conditions.py), not from the SQL: text comparisons ignore case and surrounding
spaces of the value; "does not equal" includes empty (NULL) values; "is empty" on text and custom
fields includes ''; dates and datetimes compare by UTC day; "in the last N days" counts back from
now; choice, owner and country compare for equality (choice values in their canonical case,
countries upper-cased); custom fields read `record.custom[key]`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from flask_migrate import upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from saas import create_app
from saas.auth.models import Tenant, User
from saas.extensions import db
from saas.records.conditions import OPERATORS_BY_KIND
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
    fields_for,
    standard_fields,
)
from saas.records.models import CustomField, Record
from saas.segments.rules import MAX_DEPTH, compile_rules, validate
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.conftest import app_config

TEXTUAL = (TEXT, EMAIL, PHONE, TIMEZONE, LINKEDIN)
TIERS = ["Gold", "Silver", "Bronze"]
CUSTOM_FIELDS = [  # key, kind, choices
    ("score", NUMBER, []),
    ("renewal", DATE, []),
    ("tier", CHOICE, TIERS),
    ("notes", TEXT, []),
]
NOW = utcnow()
TODAY = NOW.date()
BASE_DAY = date(2026, 3, 15)


def _dt(day: date, hh=0, mm=0, ss=0, us=0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss, us), tzinfo=UTC)


# Stored values the records draw from: NULLs, empties, case variants, LIKE metacharacters,
# day edges (00:00 and 23:59:59.999999 UTC), values around "now minus N days".
TEXT_VALUES = [None, "", " ", "Ada", "ada", "ADA LOVELACE", "Bob", "bo", "a%b", "a_b", "a/b",
               "x%", "_y", " Ada ", "Company 1", "Company 12", "company 2", "Zoë"]
NONNULL_TEXT = [v for v in TEXT_VALUES if v is not None]
EMAILS = [None, "ada@example.com", "ADA2@Example.com", "bob_1@example.org", "b%c@example.net"]
PHONES = [None, "", "+33 6 12 34 56 78", "+1-555-0100", "0612345678"]
LINKEDIN = [None, "https://www.linkedin.com/in/ada-lovelace", "https://fr.linkedin.com/in/zoe",
            "https://www.linkedin.com/company/acme"]
ZONES = ["UTC", "Europe/Paris", "America/New_York", "europe/paris"]
SOURCES = [None, "Trade show", "Web", "Referral", "Partner"]
COUNTRIES = [None, "FR", "DE", "US"]
LANGUAGES = [None, "fr", "en", "de", None, "it"]  # None speaks the workspace's language
TENANT_LANGUAGE = "fr"
NUMBERS = [None, 0.0, -1.5, 1.0, 2.5, 10.0, 1000.25, -0.5]
DECIMALS = [None, Decimal("0"), Decimal("-1.50"), Decimal("1.00"), Decimal("2.50"),
            Decimal("10.00"), Decimal("1000.25")]
DAYS = [None, BASE_DAY, BASE_DAY - timedelta(days=1), BASE_DAY + timedelta(days=1),
        date(2025, 12, 31), date(2026, 1, 1), TODAY, TODAY - timedelta(days=7),
        TODAY - timedelta(days=30), TODAY - timedelta(days=31)]
DATETIMES = [
    _dt(BASE_DAY), _dt(BASE_DAY, 23, 59, 59, 999999), _dt(BASE_DAY, 12),
    _dt(BASE_DAY - timedelta(days=1), 23, 59, 59), _dt(BASE_DAY + timedelta(days=1)),
    _dt(date(2025, 12, 31), 23, 30), _dt(date(2026, 1, 1), 0, 0, 1),
    NOW - timedelta(hours=3), NOW - timedelta(days=1, hours=2),
    NOW - timedelta(days=7, hours=-3), NOW - timedelta(days=7, hours=3),
    NOW - timedelta(days=30, hours=-3), NOW - timedelta(days=30, hours=3),
    NOW + timedelta(hours=5),
]
NUMBER_TEXTS = ["0", "-1.5", "1", "2.5", "2,5", "10", "1000.25", "3", " 10 ", "-0.5", "1e3"]
DATE_TEXTS = sorted({d.isoformat() for d in DAYS if d} | {
    d.date().isoformat() for d in DATETIMES} | {"2026-03-15T10:00:00"})


def _records(record_type: str, owners: list[int]) -> list[dict]:
    """A fixed, varied set of rows: index i walks through every list at a different pace."""
    rows = []
    for i in range(48):
        custom = {}
        # Missing key, JSON null, and values.
        if i % 5:
            custom["score"] = NUMBERS[i % len(NUMBERS)]
        if i % 4:
            d = DAYS[(i * 3) % len(DAYS)]
            custom["renewal"] = d.isoformat() if d else None
        if i % 3:
            custom["tier"] = [None, "", *TIERS][i % 5]
        if i % 6:
            custom["notes"] = TEXT_VALUES[(i * 5) % len(TEXT_VALUES)]
        created = DATETIMES[i % len(DATETIMES)]
        row = {
            "record_type": record_type,
            "first_name": NONNULL_TEXT[i % len(NONNULL_TEXT)],
            "last_name": NONNULL_TEXT[(i * 7 + 3) % len(NONNULL_TEXT)],
            "company": NONNULL_TEXT[(i * 3 + 1) % len(NONNULL_TEXT)],
            "email": EMAILS[i % len(EMAILS)] and f"{i}.{EMAILS[i % len(EMAILS)]}",
            "phone": PHONES[(i * 3) % len(PHONES)],
            "linkedin_url": LINKEDIN[(i * 5) % len(LINKEDIN)],
            "lead_source": SOURCES[(i * 2) % len(SOURCES)],
            "status": (["new", "contacted", "qualified", "disqualified"] if record_type == "lead"
                       else ["open", "won", "lost"])[i % (4 if record_type == "lead" else 3)],
            "stage": (None if record_type == "lead"
                      else [None, "qualify", "develop", "propose", "close"][i % 5]),
            "estimated_value": None if record_type == "lead" else DECIMALS[i % len(DECIMALS)],
            "close_date": None if record_type == "lead" else DAYS[(i * 7) % len(DAYS)],
            "owner_id": [None, *owners][i % (len(owners) + 1)],
            "country": COUNTRIES[(i * 5) % len(COUNTRIES)],
            "time_zone": ZONES[i % len(ZONES)],
            "language": LANGUAGES[(i * 5) % len(LANGUAGES)],
            "custom": custom,
            "created_at": created,
            "updated_at": DATETIMES[(i * 5 + 2) % len(DATETIMES)],
        }
        rows.append(row)
    return rows


# --- The plain Python reading of the rules ------------------------------------------------

def _items(value) -> list[str]:
    if isinstance(value, list):
        raw = value
    else:
        raw = re.split(r"[,;]", str(value or ""))
    return [str(v).strip() for v in raw if str(v).strip()]


def _num(raw) -> Decimal:
    return Decimal(str(raw).strip().replace(" ", "").replace(",", "."))


def _day(raw) -> date:
    return date.fromisoformat(str(raw).strip()[:10])


def _value_of(record: dict, key: str):
    if key.startswith("custom."):
        return record["custom"].get(key.removeprefix("custom."))
    if key == "language":
        return record["language"] or TENANT_LANGUAGE
    return record[key]


def _matches(node: dict, record: dict, kinds: dict, choices: dict, now: datetime) -> bool:
    if "rules" in node:
        results = [_matches(n, record, kinds, choices, now) for n in node["rules"]]
        return all(results) if node["op"] == "and" else any(results)
    key, op, value = node["field"], node["operator"], node.get("value")
    kind, custom = kinds[key], key.startswith("custom.")
    stored = _value_of(record, key)
    if op in ("is_empty", "is_not_empty"):
        empty = stored is None or ((kind in TEXTUAL or custom) and stored == "")
        return empty if op == "is_empty" else not empty
    if kind in TEXTUAL:
        wanted = str(value).strip().lower()
        have = None if stored is None else stored.lower()
        if op == "equals":
            return have == wanted
        if op == "not_equals":
            return have is None or have != wanted
        if op == "contains":
            return have is not None and wanted in have
        if op == "begins_with":
            return have is not None and have.startswith(wanted)
        if op == "in_list":
            return have is not None and have in {v.lower() for v in _items(value)}
    if kind in (CHOICE, OWNER, COUNTRY):
        def canon(v):
            if kind == OWNER:
                return int(v)
            if kind == COUNTRY:
                return v.upper()
            return {c.lower(): c for c in choices[key]}[v.lower()]
        if op == "in_list":
            return stored is not None and stored in {canon(v) for v in _items(value)}
        wanted = canon(str(value).strip())
        if op == "equals":
            return stored == wanted
        return stored is None or stored != wanted
    if kind == NUMBER:
        if stored is None:
            return op == "not_equals"
        have = Decimal(str(stored))
        if op == "between":
            low, high = sorted(_num(v) for v in _items(value))
            return low <= have <= high
        wanted = _num(value)
        return {"equals": have == wanted, "not_equals": have != wanted, "gt": have > wanted,
                "lt": have < wanted}[op]
    if kind in (DATE, DATETIME):
        if stored is None:
            return False
        if op == "in_last_days":
            since = now - timedelta(days=int(str(value).strip()))
            if kind == DATETIME:
                return stored >= since
            return _day(stored) >= since.date()
        have = stored.astimezone(UTC).date() if kind == DATETIME else _day(stored)
        if op == "between":
            low, high = sorted(_day(v) for v in _items(value))
        else:
            low = high = _day(value)
        return {"on": have == low, "before": have < low, "after": have > high,
                "between": low <= have <= high}[op]
    raise AssertionError(f"no Python reading for {kind} {op}")


# (backend, field, operator) left out of the generated trees because the compiled SQL is wrong;
# each has its own xfail test at the end of this file.
# Found by this test and fixed: emptiness of a custom number field compared a FLOAT with ''
# on PostgreSQL. Kept as a regression case; nothing is excluded from generation any more.
REGRESSIONS = {
    ("postgresql", "custom.score", "is_empty"),
    ("postgresql", "custom.score", "is_not_empty"),
}
KNOWN_BUGS: set = set()
# Text conditions whose value differs from the stored text only in the case of a non-ASCII
# letter: SQLite's lower() folds ASCII only, so "contains ZOË" does not find "Zoë" there
# (equals and in_list lower the value in Python first, so they only miss stored upper-case
# non-ASCII letters, e.g. "ÉCOLE"; the fixed records have none).
NON_ASCII_CASE = [("sqlite", op, "ZOË") for op in ("contains", "begins_with")]


# --- Generated rule trees ------------------------------------------------------------------

def _field_table(record_type: str) -> tuple[dict, dict]:
    kinds = {f.key: f.kind for f in standard_fields(record_type)}
    choices = {f.key: [v for v, _ in f.choices] for f in standard_fields(record_type)}
    for key, kind, options in CUSTOM_FIELDS:
        kinds[f"custom.{key}"] = kind
        choices[f"custom.{key}"] = options
    return kinds, choices


def _text_pool(key: str) -> list[str]:
    return {"email": [e for e in EMAILS if e] + ["example.com", "ADA", "%", "_", "0."],
            "phone": [p for p in PHONES if p] + ["+33", "555", "06"],
            "linkedin_url": [u for u in LINKEDIN if u] + ["linkedin.com/in", "ADA", "/company/"],
            "time_zone": ZONES + ["utc", "Europe", "/"]}.get(
                key, [v for v in TEXT_VALUES if v and v.strip()] + ["%", "_", "/", "a", "A",
                                                                   "company", "1"])


def _case(draw, text: str, backend: str = "") -> str:
    if backend == "sqlite" and not text.isascii():
        return text  # SQLite's lower() and LIKE fold ASCII only: see test_known_bugs
    how = draw(st.sampled_from(["same", "upper", "lower", "swap"]))
    return {"same": text, "upper": text.upper(), "lower": text.lower(),
            "swap": text.swapcase()}[how]


@st.composite
def _condition(draw, record_type: str, owners: list[int], backend: str) -> dict:
    kinds, choices = _field_table(record_type)
    key = draw(st.sampled_from(sorted(kinds)))
    kind = kinds[key]
    op = draw(st.sampled_from([o for o in OPERATORS_BY_KIND[kind]
                               if (backend, key, o) not in KNOWN_BUGS]))
    node = {"field": key, "operator": op}
    if op in ("is_empty", "is_not_empty"):
        if draw(st.booleans()):
            node["value"] = draw(st.sampled_from(["", None, "ignored"]))
        return node

    def one() -> str:
        if kind in TEXTUAL:
            pool = _text_pool(key)
            base = draw(st.sampled_from(pool))
            if draw(st.booleans()) and len(base) > 1:  # a piece of a stored value
                i = draw(st.integers(0, len(base) - 1))
                j = draw(st.integers(i + 1, len(base)))
                base = base[i:j] if base[i:j].strip() else base
            text = _case(draw, base, backend)
            return text if text.strip() else "x"
        if kind == CHOICE:
            return _case(draw, draw(st.sampled_from(choices[key])))
        if kind == OWNER:
            return str(draw(st.sampled_from([*owners, 999_999])))
        if kind == COUNTRY:
            return _case(draw, draw(st.sampled_from(["FR", "DE", "US", "GB"])))
        if kind == NUMBER:
            return draw(st.sampled_from(NUMBER_TEXTS))
        return draw(st.sampled_from(DATE_TEXTS))

    if op == "in_list":
        values = draw(st.lists(st.builds(one), min_size=1, max_size=3))
        if kind in TEXTUAL:  # commas split a string list: keep them out of the items
            values = [v.replace(",", " ").replace(";", " ").strip() or "x" for v in values]
        node["value"] = values if draw(st.booleans()) else draw(
            st.sampled_from([", ", ",", "; "])).join(values)
    elif op == "between":
        values = [one(), one()]
        if draw(st.booleans()):
            node["value"] = values
        else:  # in one string the comma separates the two values: no decimal commas then
            node["value"] = ", ".join(v.replace(",", ".") for v in values)
    elif op == "in_last_days":
        node["value"] = str(draw(st.sampled_from([0, 1, 2, 7, 8, 29, 30, 31, 365])))
    else:
        node["value"] = one()
    return node


@st.composite
def _group(draw, record_type: str, owners: list[int], backend: str, depth: int = 1) -> dict:
    leaf = _condition(record_type, owners, backend)
    children = st.one_of(leaf, _group(record_type, owners, backend, depth + 1)) \
        if depth < MAX_DEPTH else leaf
    rules = draw(st.lists(children, min_size=1, max_size=3 if depth > 1 else 4))
    return {"op": draw(st.sampled_from(["and", "or"])), "rules": rules}


# --- The two databases ---------------------------------------------------------------------

def _seed(app, backend: str) -> dict:
    """A tenant with custom fields on both record types and the fixed records of each."""
    with app.app_context():
        tenant = Tenant(slug="prop", name="Prop", licence="sales_enterprise", settings={},
                        opportunities_enabled=True, language=TENANT_LANGUAGE)
        db.session.add(tenant)
        db.session.commit()
        with tenant_context(tenant.id):
            users = [User(email=f"u{n}@prop.example", name=f"U{n}", roles=[], status="active")
                     for n in range(2)]
            db.session.add_all(users)
            for record_type in ("lead", "opportunity"):
                for position, (key, kind, options) in enumerate(CUSTOM_FIELDS):
                    db.session.add(CustomField(record_type=record_type, key=key,
                                               label=key.title(), kind=kind, choices=options,
                                               position=position))
            db.session.commit()
            owners = [u.id for u in users]
            records = []
            for record_type in ("lead", "opportunity"):
                rows = _records(record_type, owners)
                ids = db.session.execute(insert(Record).returning(Record.id),
                                         [{**r, "tenant_id": tenant.id} for r in rows]
                                         ).scalars().all()
                records += [{**r, "id": i} for r, i in zip(rows, ids, strict=True)]
            db.session.commit()
        return {"app": app, "backend": backend, "tenant_id": tenant.id, "owners": owners,
                "records": records}


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "t.db"
    app = create_app(app_config(DATABASE_URL=f"sqlite:///{path}"))
    with app.app_context():
        upgrade()
        db.session.remove()
    return app


@pytest.fixture(params=["postgresql", "sqlite"])
def seeded(request, app):
    """`app` (PostgreSQL) is always requested so its tables are emptied after the test."""
    target = app if request.param == "postgresql" else request.getfixturevalue("sqlite_app")
    data = _seed(target, request.param)
    yield data
    if request.param == "sqlite":
        with target.app_context():
            db.session.remove()
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()


def _check(seeded: dict, record_type: str, tree: dict) -> None:
    kinds, choices = _field_table(record_type)
    with seeded["app"].app_context(), tenant_context(seeded["tenant_id"]):
        fields = fields_for(record_type)
        assert {k: f.kind for k, f in fields.items()} == kinds
        assert validate(tree, fields) == {}, tree
        now = utcnow()
        got = set(db.session.execute(
            select(Record.id).where(Record.record_type == record_type,
                                    compile_rules(tree, fields))).scalars())
        db.session.rollback()
    want = {r["id"] for r in seeded["records"]
            if r["record_type"] == record_type and _matches(tree, r, kinds, choices, now)}
    if got != want:
        by_id = {r["id"]: r for r in seeded["records"]}
        diff = {i: {k: v for k, v in by_id[i].items() if k != "id"}
                for i in sorted(got ^ want)[:3]}
        raise AssertionError(f"SQL only: {sorted(got - want)}, Python only: "
                             f"{sorted(want - got)}\nrules: {tree}\nrecords: {diff}")


PROPERTY = settings(max_examples=150, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.mark.parametrize("record_type", ["lead", "opportunity"])
def test_compiled_rules_select_what_the_rules_say(seeded, record_type):
    owners = seeded["owners"]

    @PROPERTY
    @given(tree=_group(record_type, owners, seeded["backend"]))
    def check(tree):
        _check(seeded, record_type, tree)

    check()


@pytest.mark.parametrize("record_type", ["lead", "opportunity"])
def test_every_operator_on_every_field_alone(seeded, record_type):
    """Single conditions, so each (field, operator) pair is exercised on its own."""
    owners = seeded["owners"]

    @PROPERTY
    @given(node=_condition(record_type, owners, seeded["backend"]))
    def check(node):
        _check(seeded, record_type, {"op": "and", "rules": [node]})

    check()


@pytest.mark.parametrize("backend, field, operator", sorted(REGRESSIONS))
def test_custom_number_emptiness(seeded, backend, field, operator):
    if seeded["backend"] != backend:
        pytest.skip(f"only on {backend}")
    _check(seeded, "lead", {"op": "and", "rules": [{"field": field, "operator": operator}]})


@pytest.mark.parametrize("backend, operator, value", NON_ASCII_CASE)
@pytest.mark.xfail(strict=True, reason="SQLite lower()/LIKE fold ASCII letters only")
def test_non_ascii_case_on_sqlite(seeded, backend, operator, value):
    if seeded["backend"] != backend:
        pytest.skip(f"only on {backend}")
    _check(seeded, "lead", {"op": "and", "rules": [
        {"field": "company", "operator": operator, "value": value}]})
