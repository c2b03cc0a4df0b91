"""Shared by the benchmarks."""

from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from saas.auth.models import Role, Tenant, User
from saas.extensions import db
from saas.records.models import LEAD_SOURCES, CustomField
from saas.tenancy import tenant_context


def ensure_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database when it does not exist yet."""
    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                              {"d": target.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def build(app, records: int, fill_sql: str, password_hash: str | None) -> dict:
    """A fresh schema (by the migrations) with `records` leads in a `bench` tenant and a tenth
    as many in a `neighbour` tenant, each with a sequence manager and a "Tier" custom field.
    Returns {slug: (tenant id, user id)}."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        ids = {}
        sources = ",".join(f"'{s}'" for s in LEAD_SOURCES)
        for slug, n in (("bench", records), ("neighbour", max(records // 10, 1))):
            tenant = Tenant(slug=slug, name=slug.title(), licence="sales_enterprise",
                            settings={}, opportunities_enabled=False)
            db.session.add(tenant)
            db.session.flush()
            with tenant_context(tenant.id):
                user = User(email=f"manager@{slug}.example", name="Bench Manager",
                            password_hash=password_hash,
                            roles=[Role.SEQUENCE_MANAGER.value], status="active")
                db.session.add(user)
                db.session.add(CustomField(record_type="lead", key="tier", label="Tier",
                                           kind="choice", choices=["Gold", "Silver"]))
                db.session.flush()
                db.session.execute(
                    text(fill_sql.format(sources=sources, nsources=len(LEAD_SOURCES))),
                    {"tenant": tenant.id, "owner": user.id, "n": n})
                db.session.commit()
                ids[slug] = (tenant.id, user.id)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE record"))
        return ids
