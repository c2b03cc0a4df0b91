"""The demo tenant comes with an active "Trade show follow-up" and a draft "Demo request"."""

from sqlalchemy import select

from saas.auth.models import Tenant
from saas.demo import seed_demo
from saas.extensions import db
from saas.sequences.models import Sequence
from saas.tenancy import tenant_context


def test_demo_tenant_has_example_sequences(app):
    with app.app_context():
        assert seed_demo() is True
        tenant_id = db.session.execute(select(Tenant.id).where(Tenant.slug == "demo")).scalar()
        with tenant_context(tenant_id):
            rows = db.session.execute(select(Sequence.name, Sequence.status)
                                      .order_by(Sequence.id)).all()
    assert [tuple(r) for r in rows] == [("Trade show follow-up", "active"),
                                        ("Demo request", "draft")]
