"""Fixtures of the API tests: keys made through the service an administrator's page uses."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from saas.api.keys import create_key
from saas.auth.models import User
from saas.extensions import db
from saas.tenancy import tenant_context


@pytest.fixture
def make_key(app):
    """make_key(admin, role="sequence_manager", seller=None, expires_at=None) -> key text."""

    def make(admin, role: str = "sequence_manager", seller=None, expires_at=None,
             name: str = "Test key") -> str:
        with app.app_context(), tenant_context(admin.tenant.id):
            creator = db.session.get(User, admin.id)
            token, __ = create_key(name=name, role=role, created_by=creator,
                                   seller_id=seller.id if seller else None,
                                   expires_at=expires_at)
            return token

    return make


class Api:
    """Requests to one tenant's API with one key, over the test client."""

    def __init__(self, client, slug: str, token: str):
        self.client, self.slug, self.token = client, slug, token

    def _headers(self, extra=None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, **kwargs):
        return self.client.get(f"/api/v1/{self.slug}{path}", headers=self._headers(
            kwargs.pop("headers", None)), **kwargs)

    def send(self, method: str, path: str, body=None, **kwargs):
        return self.client.open(f"/api/v1/{self.slug}{path}", method=method, json=body,
                                headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, body=None, **kwargs):
        return self.send("POST", path, body, **kwargs)

    def patch(self, path: str, body=None, **kwargs):
        return self.send("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.send("DELETE", path, **kwargs)


@pytest.fixture
def api(client, admin, make_key):
    """A sequence manager's key of the tenant `acme`."""
    return Api(client, admin.tenant.slug, make_key(admin))


@pytest.fixture
def api_for(client, make_key):
    def make(admin, role: str = "sequence_manager", seller=None) -> Api:
        return Api(client, admin.tenant.slug, make_key(admin, role, seller))
    return make


@pytest.fixture
def tenant_b(make_tenant, make_user):
    tenant = make_tenant("globex", name="Globex")
    return make_user(tenant, name="Bea Admin", email="bea@globex.example")


def ns(**kw):
    return SimpleNamespace(**kw)
