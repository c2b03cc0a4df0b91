"""Generated from the API's operation table (saas/api/spec.py): every operation that names an
object by id is called with a key of another tenant, at that tenant's address (expects 404) and
at the owner's address (expects 401: a key works only for its own organization), and with the
owner's key (expects success, so the 404 is no accident). Every list operation, called with the
other tenant's key, shows none of the owner's objects."""

from __future__ import annotations

import pytest

from saas import create_app
from saas.api.spec import OPERATIONS
from saas.tenancy import tenant_context
from tests.api.conftest import Api
from tests.api.isolation_cases import CASES
from tests.conftest import app_config

create_app(app_config())  # the operation table is filled when the API's modules load
WITH_IDS = sorted(op.operation_id for op in OPERATIONS if op.path_params)
LISTS = sorted(op.operation_id for op in OPERATIONS if op.method == "GET" and not op.path_params)
BY_ID = {op.operation_id: op for op in OPERATIONS}


def test_every_operation_with_an_id_has_a_case(capsys):
    missing = set(WITH_IDS) - set(CASES)
    assert not missing, f"API operations with an id but no case: {sorted(missing)}"
    with capsys.disabled():
        print(f"\nAPI isolation: {len(WITH_IDS)} operations with ids, {len(LISTS)} lists")


@pytest.fixture
def two_tenants(app, client, make_tenant, make_user, make_key):
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    owner = make_user(alpha)
    stranger = make_user(beta)
    return (alpha, Api(client, "alpha", make_key(owner)),
            Api(client, "beta", make_key(stranger)), make_key(stranger))


@pytest.mark.parametrize("operation_id", WITH_IDS)
def test_another_tenants_object_is_404(app, operation_id, two_tenants):
    alpha, mine, theirs, their_token = two_tenants
    op = BY_ID[operation_id]
    with app.app_context(), tenant_context(alpha.id):
        from saas.extensions import db

        case = CASES[operation_id](None)
        db.session.commit()
    path = op.path.format(**case.values)
    other = theirs.send(op.method, path, case.body)
    assert other.status_code == 404, f"{operation_id}: another tenant got {other.status_code}"
    wrong_door = Api(mine.client, "alpha", their_token).send(op.method, path, case.body)
    assert wrong_door.status_code == 401, f"{operation_id}: a foreign key got " \
                                          f"{wrong_door.status_code} at the owner's address"
    own = mine.send(op.method, path, case.body)
    assert own.status_code in case.ok, f"{operation_id}: the owner got {own.status_code} " \
                                       f"{own.get_data(as_text=True)[:300]}"


@pytest.mark.parametrize("operation_id", LISTS)
def test_lists_show_nothing_of_another_tenant(app, operation_id, two_tenants):
    alpha, mine, theirs, __ = two_tenants
    with app.app_context(), tenant_context(alpha.id):
        from saas.extensions import db
        from tests.api.isolation_cases import record

        secret = record()
        secret.company = "Alpha-Secret-Company"
        db.session.commit()
    op = BY_ID[operation_id]
    answer = theirs.get(op.path)
    assert answer.status_code == 200, f"{operation_id}: {answer.status_code}"
    assert "Alpha-Secret-Company" not in answer.get_data(as_text=True)
    assert "alpha.example" not in answer.get_data(as_text=True)
