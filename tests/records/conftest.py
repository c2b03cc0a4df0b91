from datetime import timedelta

import pytest
from sqlalchemy import insert

from saas.auth.models import Role
from saas.extensions import db
from saas.records.models import Record
from saas.tenancy import tenant_context
from saas.timeutil import utcnow


@pytest.fixture
def manager(make_tenant, make_user):
    tenant = make_tenant("acme", name="Acme", opportunities=True)
    return make_user(tenant, roles=[Role.SEQUENCE_MANAGER], name="Mo Manager",
                     email="mo@acme.example")


@pytest.fixture
def manager_client(client, manager, login):
    assert login(client, manager).status_code == 302
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
