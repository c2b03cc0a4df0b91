"""The `demo` tenant that `make run` creates once: a user per role and a few hundred records."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from saas.admin import audit
from saas.auth.models import Licence, Role, Tenant, User
from saas.auth.passwords import hash_password
from saas.extensions import db
from saas.records.demo import seed_records
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

DEMO_PASSWORD = "coffee-beans-42"  # noqa: S105 - the published demo login
DEMO_LOGINS = [
    ("System administrator", "admin@demo.example", DEMO_PASSWORD),
    ("Sequence manager", "manager@demo.example", DEMO_PASSWORD),
    ("Seller", "seller@demo.example", DEMO_PASSWORD),
]


def seed_demo() -> bool:
    """Create the demo tenant; False when it already exists (nothing is changed then)."""
    if db.session.execute(select(Tenant.id).where(Tenant.slug == "demo")).first():
        return False
    tenant = Tenant(slug="demo", name="Contoso Coffee (demo)",
                    licence=Licence.SALES_ENTERPRISE.value,
                    licence_trial_ends_at=utcnow() + timedelta(days=30),
                    opportunities_enabled=True, workspace_published_at=utcnow(), settings={})
    db.session.add(tenant)
    db.session.flush()
    password_hash = hash_password(DEMO_PASSWORD)
    people = [
        ("Avery Admin", "admin@demo.example", [Role.SYSTEM_ADMINISTRATOR]),
        ("Morgan Manager", "manager@demo.example", [Role.SEQUENCE_MANAGER]),
        ("Sam Seller", "seller@demo.example", [Role.SELLER]),
        ("Robin Reyes", "robin@demo.example", [Role.SELLER]),
    ]
    with tenant_context(tenant.id):
        for name, email, roles in people:
            db.session.add(User(name=name, email=email, password_hash=password_hash,
                                roles=[r.value for r in roles], status="active"))
        db.session.flush()
        sellers = db.session.execute(
            select(User.id).where(User.email.in_(["seller@demo.example", "robin@demo.example"]))
        ).scalars().all()
        seed_records(list(sellers))
        from saas.sequences.demo import seed_sequences

        seed_sequences()
        audit.record("tenant.demo_seeded", tenant.name)
        db.session.commit()
    return True
