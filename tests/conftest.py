"""Fixtures: a real PostgreSQL and Redis, the schema built once by the migrations, and every
table emptied after each test (so live-server browser tests see committed data too)."""

from __future__ import annotations

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask_migrate import upgrade
from redis import Redis
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from saas import create_app
from saas.auth.models import Role, Tenant, User
from saas.auth.passwords import hash_password
from saas.extensions import db
from saas.records.models import Record
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.provider_guard import ProviderGuard

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct-horse-battery-staple"


def app_config(**overrides) -> dict:
    config = {
        "APP_ENV": "test",
        "SECRET_KEY": "test-secret-key-test-secret-key-0123456789",
        "DATABASE_URL": TEST_DATABASE_URL,
        "REDIS_URL": TEST_REDIS_URL,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8192",
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        # Senders' default caps off (tests/engine/test_sender_*.py set their own).
        "SENDER_DAILY_CAP": "1000000", "SENDER_HOURLY_CAP": "1000000",
        "SENDER_MIN_GAP_SECONDS": "0",
    }
    config.update(overrides)
    return config


def _compile_catalogs() -> None:
    """The .mo files the app reads, from the .po files (as `make` does), when they are stale."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from saas.config import PROJECT_ROOT

    for po in (PROJECT_ROOT / "saas" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name)
            with mo.open("wb") as f:
                write_mo(f, catalog)


def pytest_sessionstart(session):
    """Before any test, so tests that read no page (tests/i18n/test_catalogs.py) see them too."""
    _compile_catalogs()


@pytest.fixture(scope="session")
def app():
    _compile_catalogs()
    app = create_app(app_config())
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        with db.engine.begin() as conn:  # no vacuum between tests: rows stay in insertion order
            for table in db.metadata.sorted_tables:
                conn.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'))
        db.session.remove()
    return app


@pytest.fixture(scope="session")
def redis_conn():
    return Redis.from_url(TEST_REDIS_URL)


@pytest.fixture(autouse=True)
def _clean_state(request, redis_conn):
    """Each test starts with empty tables and an empty test Redis database (and no engine hook
    installed, no cached tenant time zone: tenant ids repeat from test to test)."""
    from saas.engine import hooks, windows

    redis_conn.flushdb()
    windows.clear_zone_cache()
    yield
    hooks.clear()
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        _empty_tables()


BIG = 5000  # rows in a table beyond which TRUNCATE is cheaper than DELETE
DELETED_MAX = 50_000  # rows deleted since the last TRUNCATE beyond which the tables are renewed
_deleted = [0]


def _empty_tables() -> None:
    """Every table emptied and every id sequence restarted. A TRUNCATE of all the tables costs a
    quarter of a second each time (new files for every table); most tests write a few rows in a
    few tables, so those are deleted (foreign-key triggers off: the whole table goes anyway)
    and the sequences restarted, unless some table is big. Autovacuum is off for the test
    tables (the `app` fixture), so new rows keep their insertion order as after a TRUNCATE; the
    dead rows are dropped by a TRUNCATE once DELETED_MAX of them have piled up."""
    tables = [t.name for t in db.metadata.sorted_tables]
    probe = " UNION ALL ".join(  # the names come from the models' metadata
        f"SELECT '{name}', (SELECT count(*) FROM (SELECT 1 FROM \"{name}\" LIMIT {BIG + 1}) s)"  # noqa: S608
        for name in tables)
    try:
        with db.engine.begin() as conn:
            counts = dict(conn.execute(text(probe)).all())
            if max(counts.values(), default=0) <= BIG and _deleted[0] <= DELETED_MAX:
                _deleted[0] += sum(counts.values())
                conn.execute(text("SET LOCAL session_replication_role = replica"))  # superuser
                for name in reversed(tables):
                    if counts[name]:
                        conn.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608
                conn.execute(text(
                    "SELECT setval(d.objid::regclass, 1, false) FROM pg_depend d "
                    "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                    "JOIN pg_class t ON t.oid = d.refobjid "
                    "WHERE t.relname = ANY(:tables) AND d.deptype IN ('a', 'i')"),
                    {"tables": tables})
                return
    except DBAPIError:
        pass  # not a superuser: the slow way
    listed = ", ".join(f'"{name}"' for name in tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
    _deleted[0] = 0


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_tenant(app):
    """make_tenant(slug=..., licence=..., workspace=True) -> Tenant as plain data."""
    counter = iter(range(1, 10_000))

    def make(slug: str | None = None, *, name: str | None = None, licence="sales_enterprise",
             workspace: bool = True, opportunities: bool = False, trial_ends_at=None):
        from saas.timeutil import utcnow

        n = next(counter)
        slug = slug or f"org-{n}"
        with app.app_context():
            tenant = Tenant(slug=slug, name=name or f"Org {n}", licence=licence,
                            licence_trial_ends_at=trial_ends_at,
                            opportunities_enabled=opportunities,
                            workspace_published_at=utcnow() if workspace else None, settings={})
            db.session.add(tenant)
            db.session.commit()
            return SimpleNamespace(id=tenant.id, slug=tenant.slug, name=tenant.name)

    return make


@pytest.fixture
def make_user(app):
    """make_user(tenant, roles=[Role.SELLER], email=...) -> User as plain data (with password)."""
    counter = iter(range(1, 10_000))
    password_hash = {}

    def make(tenant, *, roles=(Role.SYSTEM_ADMINISTRATOR,), email: str | None = None,
             name: str | None = None, status: str = "active"):
        n = next(counter)
        with app.app_context(), tenant_context(tenant.id):
            if "hash" not in password_hash:
                password_hash["hash"] = hash_password(PASSWORD)
            user = User(email=email or f"user{n}@{tenant.slug}.example",
                        name=name or f"User {n}",
                        password_hash=password_hash["hash"] if status != "invited" else None,
                        roles=[Role(r).value for r in roles], status=status)
            db.session.add(user)
            db.session.commit()
            return SimpleNamespace(id=user.id, email=user.email, name=user.name,
                                   password=PASSWORD, tenant=tenant)

    return make


def _login(client, user, password: str | None = None):
    return client.post(f"/{user.tenant.slug}/login",
                       data={"email": user.email, "password": password or user.password})


@pytest.fixture
def login():
    """login(client, user) signs the client in as the user."""
    return _login


@pytest.fixture
def admin(make_tenant, make_user):
    tenant = make_tenant("acme", name="Acme")
    return make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], name="Ada Admin",
                     email="ada@acme.example")


@pytest.fixture
def admin_client(client, admin):
    response = _login(client, admin)
    assert response.status_code == 302
    return client


@pytest.fixture
def add_records(app):
    """add_records(tenant, n, **columns) inserts n leads in bulk; returns their ids."""

    def add(tenant, n=1, record_type="lead", start=None, **columns):
        start = start or utcnow() - timedelta(days=1)
        rows = []
        for i in range(n):
            row = {"tenant_id": tenant.id, "record_type": record_type, "first_name": f"First{i}",
                   "last_name": f"Last{i:04d}", "company": f"Company {i % 7}",
                   "email": f"person{i}-{tenant.slug}@example.com",
                   "status": "new" if record_type == "lead" else "open", "custom": {},
                   "time_zone": "UTC", "created_at": start + timedelta(minutes=i),
                   "updated_at": start + timedelta(minutes=i)}
            row.update({k: (v(i) if callable(v) else v) for k, v in columns.items()})
            rows.append(row)
        with app.app_context(), tenant_context(tenant.id):
            ids = db.session.execute(insert(Record).returning(Record.id), rows).scalars().all()
            db.session.commit()
        return ids

    return add


@pytest.fixture(autouse=True)
def _no_real_providers(monkeypatch):
    """Fail any test that reaches a real provider host (tests talk to a local fake server)."""
    guard = ProviderGuard().install(monkeypatch)
    yield
    if guard.reached:
        pytest.fail("the test tried to reach a real provider: "
                    + ", ".join(sorted(set(guard.reached))))
