"""A tenant with two sellers and a sequence manager, and a way to build data as that tenant."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from saas.auth.models import Role
from saas.extensions import db
from saas.tenancy import tenant_context


@pytest.fixture
def world(app, make_tenant, make_user, login):
    tenant = make_tenant("acme", name="Acme")
    seller = make_user(tenant, roles=[Role.SELLER], name="Sam Seller", email="sam@acme.example")
    other = make_user(tenant, roles=[Role.SELLER], name="Olga Other", email="olga@acme.example")
    manager = make_user(tenant, roles=[Role.SEQUENCE_MANAGER], name="Mia Manager",
                        email="mia@acme.example")

    @contextmanager
    def data():
        """Build objects as the tenant; commits at the end."""
        with app.app_context(), tenant_context(tenant.id):
            yield db.session
            db.session.commit()

    def client_for(user):
        client = app.test_client()
        assert login(client, user).status_code == 302
        return client

    return SimpleNamespace(tenant=tenant, seller=seller, other=other, manager=manager,
                           data=data, client_for=client_for, app=app)
