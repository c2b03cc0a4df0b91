"""`make run`'s zero-setup database is SQLite: the demo tenant works there end to end (the seller's
worklist and a connected lead's Up next), with times read back as aware UTC like on PostgreSQL."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import select

from saas import create_app
from saas.auth.models import Tenant, User
from saas.demo import DEMO_PASSWORD, seed_demo
from saas.engine.connect import connect_many
from saas.engine.models import StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Sequence
from saas.tenancy import tenant_context
from tests.conftest import TEST_REDIS_URL, app_config


def test_demo_seller_works_a_connected_lead_on_sqlite(tmp_path):
    app = create_app(app_config(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}",
                                REDIS_URL=TEST_REDIS_URL))
    with app.app_context():
        upgrade()
        assert seed_demo()
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == "demo")).scalar_one()
        with tenant_context(tenant.id):
            seller = db.session.execute(
                select(User).where(User.email == "seller@demo.example")).scalar_one()
            sequence = db.session.execute(select(Sequence).where(
                Sequence.name == "Trade show follow-up", Sequence.status == "active")).scalar_one()
            ids = db.session.execute(select(Record.id).where(
                Record.owner_id == seller.id, Record.lead_source == "Trade show")
                .order_by(Record.id).limit(3)).scalars().all()
            assert connect_many(ids, sequence.lineage_id)["connected"] == 3
            db.session.commit()
            run = db.session.execute(select(StepRun).limit(1)).scalar_one()
            assert run.due_at.tzinfo is not None and run.created_at.utcoffset().seconds == 0
        db.session.remove()

    client = app.test_client()
    client.post("/demo/login", data={"email": "seller@demo.example", "password": DEMO_PASSWORD})
    worklist = client.get("/demo/worklist")
    assert worklist.status_code == 200
    assert "Introductory email" in worklist.get_data(as_text=True)
    record = client.get(f"/demo/records/{ids[0]}")
    assert record.status_code == 200
    assert "Introductory email" in record.get_data(as_text=True)
