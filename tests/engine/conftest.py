"""Engine fixtures: a tenant with a seller and leads, and `ctx` to work inside it."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from saas.auth.models import Role
from saas.extensions import db
from saas.tenancy import tenant_context


@pytest.fixture
def world(app, make_tenant, make_user, add_records):
    tenant = make_tenant("acme")
    seller = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    manager = make_user(tenant, roles=[Role.SEQUENCE_MANAGER], name="Mia Manager")

    @contextmanager
    def inside():
        with app.app_context(), tenant_context(tenant.id):
            yield
            db.session.rollback()
            db.session.remove()

    return SimpleNamespace(tenant=tenant, seller=seller, manager=manager, inside=inside,
                           add=lambda n=1, **kw: add_records(tenant, n, owner_id=seller.id, **kw))
