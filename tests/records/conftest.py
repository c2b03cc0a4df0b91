
import pytest

from saas.auth.models import Role


@pytest.fixture
def manager(make_tenant, make_user):
    tenant = make_tenant("acme", name="Acme", opportunities=True)
    return make_user(tenant, roles=[Role.SEQUENCE_MANAGER], name="Mo Manager",
                     email="mo@acme.example")


@pytest.fixture
def manager_client(client, manager, login):
    assert login(client, manager).status_code == 302
    return client
