"""The `demo` tenant that `make run` creates once: a user per role, a few hundred records, a
segment and two sequences. Its content is written in the workspace's language when it is
created (English, or French: segment « Prospects du salon commercial », sequence « Suivi du
salon commercial »), and is the tenant's own data from then on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from saas.admin import audit
from saas.auth.models import Licence, Role, Tenant, User
from saas.auth.passwords import hash_password
from saas.extensions import db
from saas.i18n import _l, language_of, speaking
from saas.records.demo import seed_records
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

DEMO_PASSWORD = "coffee-beans-42"  # noqa: S105 - the published demo login
DEMO_LOGINS = [
    ("System administrator", "admin@demo.example", DEMO_PASSWORD),
    ("Sequence manager", "manager@demo.example", DEMO_PASSWORD),
    ("Seller", "seller@demo.example", DEMO_PASSWORD),
]


DEMO_NAME = _l("Contoso Coffee (demo)")
TRADE_SHOW_SEGMENT = _l("Trade show leads")
TRADE_SHOW_SEGMENT_DESCRIPTION = _l("Leads met at a trade show.")


def seed_segment(language: str) -> None:
    """The lab's segment (a draft): leads whose source is the trade show. The rule's value is
    the stored lead source ("Trade show"), whatever the language."""
    from saas.segments.models import Segment, SegmentStatus

    with speaking(language):
        name, description = str(TRADE_SHOW_SEGMENT), str(TRADE_SHOW_SEGMENT_DESCRIPTION)
    db.session.add(Segment(
        name=name, description=description, record_type="lead",
        status=SegmentStatus.DRAFT.value, priority=0,
        rules={"op": "and", "rules": [{"field": "lead_source", "operator": "equals",
                                       "value": "Trade show"}]}))
    db.session.flush()


def seed_demo(language: str = "en") -> bool:
    """Create the demo tenant, its content in `language` ("en" or "fr"); False when it already
    exists (nothing is changed then)."""
    if db.session.execute(select(Tenant.id).where(Tenant.slug == "demo")).first():
        return False
    language = language_of(language)
    with speaking(language):
        tenant_name = str(DEMO_NAME)
    tenant = Tenant(slug="demo", name=tenant_name, language=language,
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
        seed_segment(language)
        from saas.sequences.demo import seed_sequences

        seed_sequences(language)
        audit.record("tenant.demo_seeded", tenant.name)
        db.session.commit()
    return True
