"""Sequences, connections and activities for the API tests, made in a tenant the way the web
makes them (connect_many starts the connections: their first activity is open)."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

from sqlalchemy import select

from saas.auth.models import Role
from saas.engine.connect import connect_many
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence

TASK_THEN_CALL = [{"type": "task", "name": "Research"}, {"type": "call", "name": "Call"},
                  {"type": "task", "name": "Wrap up"}]


def make_world(app, admin, make_user, add_records, api_for):
    """A tenant with two sellers, a manager's and each seller's key, a sequence (task, call,
    task) and `connect(n, seller)`: n new leads of that seller connected to it."""
    tenant = admin.tenant
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    sue = make_user(tenant, roles=[Role.SELLER], name="Sue Seller")

    @contextmanager
    def inside():
        with app.app_context(), tenant_context(tenant.id):
            yield
            db.session.remove()

    with inside():
        sequence = build_sequence(TASK_THEN_CALL, name="Follow-up")
        sequence_id = sequence.id
        db.session.commit()
    counter = iter(range(1, 100_000))

    def connect(n: int = 1, seller=None, sequence=None) -> list[int]:
        """Connect n new leads owned by `seller`; returns their enrollments' ids."""
        batch = next(counter)
        ids = add_records(tenant, n, owner_id=seller.id if seller else None,
                          email=lambda i: f"lead{batch}-{i}@example.com",
                          last_name=lambda i: f"Lead{batch}-{i:03d}")
        target = sequence or sequence_id
        with inside():
            connect_many(ids, target)
            db.session.commit()
            return list(db.session.execute(select(Enrollment.id).where(
                Enrollment.record_id.in_(ids)).order_by(Enrollment.record_id)).scalars())

    def open_run(enrollment_id: int) -> int:
        with inside():
            return db.session.execute(select(StepRun.id).where(
                StepRun.enrollment_id == enrollment_id, StepRun.status == "open")).scalar_one()

    return SimpleNamespace(tenant=tenant, sam=sam, sue=sue, sequence_id=sequence_id,
                           inside=inside, connect=connect, open_run=open_run,
                           manager=api_for(admin), reader=api_for(admin, "read_only"),
                           as_sam=api_for(admin, "seller", sam),
                           as_sue=api_for(admin, "seller", sue))
