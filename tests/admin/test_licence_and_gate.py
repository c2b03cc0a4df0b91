from datetime import timedelta

from saas.auth.models import Role
from saas.timeutil import utcnow


def test_gate_explains_a_missing_licence_and_who_can_fix_it(app, make_tenant, make_user, login):
    tenant = make_tenant("acme", licence="none")
    make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], name="Ada Admin")
    manager = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    client = app.test_client()
    login(client, manager)
    page = client.get("/acme/sequences/")
    text = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "A licence that includes sequences." in text
    assert "The Sequence manager role." not in text
    assert "A published workspace." not in text
    assert "Ada Admin" in text


def test_gate_explains_an_expired_trial(app, make_tenant, make_user, login):
    tenant = make_tenant("acme", trial_ends_at=utcnow() - timedelta(days=1))
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    client = app.test_client()
    login(client, admin)
    text = client.get("/acme/sequences/").get_data(as_text=True)
    assert "trial has ended" in text
    assert "change the licence" in text  # an admin can fix it themself


def test_gate_explains_a_missing_role(app, make_tenant, make_user, login):
    tenant = make_tenant("acme")
    seller = make_user(tenant, roles=[Role.SELLER])
    client = app.test_client()
    login(client, seller)
    text = client.get("/acme/sequences/").get_data(as_text=True)
    assert "The Sequence manager role." in text
    assert "A licence that includes sequences." not in text
    assert "A published workspace." not in text


def test_gate_explains_an_unpublished_workspace(app, make_tenant, make_user, login):
    tenant = make_tenant("acme", workspace=False)
    manager = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    client = app.test_client()
    login(client, manager)
    text = client.get("/acme/sequences/").get_data(as_text=True)
    assert "A published workspace." in text
    assert "A licence that includes sequences." not in text


def test_licence_change_and_workspace_setup_open_the_gate(app, make_tenant, make_user, login):
    tenant = make_tenant("acme", licence="none", workspace=False)
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    client = app.test_client()
    login(client, admin)
    assert client.get("/acme/sequences/").status_code == 403

    client.post("/acme/settings/licence", data={"licence": "sales_premium"})
    assert b"Sales Premium" in client.get("/acme/settings/licence").data
    gate = client.get("/acme/sequences/").get_data(as_text=True)
    assert "A published workspace." in gate and "A licence" not in gate

    setup = client.get("/acme/settings/workspace").get_data(as_text=True)
    assert "Configure workspace" in setup and "Quick setup" in setup
    quick = client.get("/acme/settings/workspace?setup=quick").get_data(as_text=True)
    assert "Opportunities" in quick and "Publish" in quick
    client.post("/acme/settings/workspace", data={"opportunities": "y"})
    published = client.get("/acme/settings/workspace").get_data(as_text=True)
    assert "Published" in published and "for leads and opportunities" in published

    page = client.get("/acme/sequences/")
    assert page.status_code == 200 and b"No sequences yet" in page.data


def test_unknown_licence_is_refused(admin_client):
    response = admin_client.post("/acme/settings/licence", data={"licence": "platinum"})
    assert response.status_code == 200
    assert b"Not a valid choice" in response.data
