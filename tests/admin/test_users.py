import re

from sqlalchemy import select

from saas.admin.models import AuditEvent
from saas.auth.models import Role, User
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.tenancy import tenant_context


def _outbox_link(app, tenant_id: int, path_part: str) -> str:
    with app.app_context(), tenant_context(tenant_id):
        message = db.session.execute(
            select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
        match = re.search(rf"http://localhost:5000(/\S*/{path_part}/\S+)", message.text_body)
        return match.group(1)


def test_invite_then_accept(app, admin_client, admin):
    response = admin_client.post("/acme/settings/users/invite", data={
        "name": "Sam Seller", "email": "Sam@Acme.example", "roles": ["seller"]})
    assert response.headers["Location"] == "/acme/settings/users"
    listing = admin_client.get("/acme/settings/users").get_data(as_text=True)
    assert "sam@acme.example" in listing and "Invited" in listing

    link = _outbox_link(app, admin.tenant.id, "invitation")
    newcomer = app.test_client()
    page = newcomer.get(link)
    assert b"Join Acme" in page.data
    accepted = newcomer.post(link, data={"name": "Sam Seller", "password": "blue-harbour-31",
                                         "confirm": "blue-harbour-31"})
    assert accepted.headers["Location"] == "/acme/"
    assert newcomer.get("/acme/").headers["Location"] == "/acme/worklist"  # a seller's home
    assert newcomer.get("/acme/worklist").status_code == 200
    # The link works once.
    assert app.test_client().get(link).status_code == 404

    with app.app_context(), tenant_context(admin.tenant.id):
        sam = db.session.execute(select(User).where(User.email == "sam@acme.example")).scalar_one()
        assert sam.status == "active" and sam.roles == ["seller"]


def test_invite_refuses_an_existing_email_and_no_roles(admin_client, admin):
    taken = admin_client.post("/acme/settings/users/invite", data={
        "name": "Ada", "email": admin.email, "roles": ["seller"]})
    assert b"is already a user of this organization" in taken.data
    no_role = admin_client.post("/acme/settings/users/invite", data={
        "name": "Bob", "email": "bob@acme.example"})
    assert b"Choose at least one role." in no_role.data


def test_invite_token_of_one_tenant_is_useless_at_another(app, admin_client, admin, make_tenant):
    admin_client.post("/acme/settings/users/invite", data={
        "name": "Sam", "email": "sam@acme.example", "roles": ["seller"]})
    make_tenant("globex")
    link = _outbox_link(app, admin.tenant.id, "invitation")
    assert app.test_client().get(link.replace("/acme/", "/globex/")).status_code == 404


def test_edit_roles(app, admin_client, admin, make_user):
    seller = make_user(admin.tenant, roles=[Role.SELLER])
    response = admin_client.post(f"/acme/settings/users/{seller.id}", data={
        "name": seller.name, "roles": ["seller", "sequence_manager"]})
    assert response.status_code == 302
    with app.app_context(), tenant_context(admin.tenant.id):
        user = db.session.execute(select(User).where(User.id == seller.id)).scalar_one()
        assert user.roles == ["sequence_manager", "seller"]
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "user.updated")).scalar_one()
        assert event.actor_name == admin.name and event.target == seller.email


def test_the_last_admin_cannot_be_demoted_or_deactivated(app, admin_client, admin):
    demote = admin_client.post(f"/acme/settings/users/{admin.id}", data={
        "name": admin.name, "roles": ["seller"]})
    assert b"last active system administrator" in demote.data

    admin_client.post(f"/acme/settings/users/{admin.id}/deactivate")
    page = admin_client.get("/acme/settings/users").get_data(as_text=True)
    assert "last active system administrator" in page
    with app.app_context(), tenant_context(admin.tenant.id):
        user = db.session.execute(select(User).where(User.id == admin.id)).scalar_one()
        assert user.status == "active" and user.is_admin


def test_an_admin_can_step_down_when_another_remains(app, admin_client, admin, make_user):
    make_user(admin.tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    response = admin_client.post(f"/acme/settings/users/{admin.id}", data={
        "name": admin.name, "roles": ["seller"]})
    assert response.status_code == 302
    # No longer an admin: the settings are closed to them now.
    assert admin_client.get("/acme/settings/users").status_code == 403


def test_admin_sends_a_password_reset_that_works_once(app, admin_client, admin, make_user):
    seller = make_user(admin.tenant, roles=[Role.SELLER])
    admin_client.post(f"/acme/settings/users/{seller.id}/reset-password")
    link = _outbox_link(app, admin.tenant.id, "reset-password")
    client = app.test_client()
    done = client.post(link, data={"password": "fresh-meadow-88", "confirm": "fresh-meadow-88"})
    assert done.headers["Location"] == "/acme/"
    assert app.test_client().get(link).status_code == 404
    relog = app.test_client().post("/acme/login", data={
        "email": seller.email, "password": "fresh-meadow-88"})
    assert relog.status_code == 302


def test_settings_are_for_admins_only(app, admin, make_user, login):
    seller = make_user(admin.tenant, roles=[Role.SELLER])
    client = app.test_client()
    login(client, seller)
    response = client.get("/acme/settings/users")
    assert response.status_code == 403
    assert b"System administrator role" in response.data


def test_audit_log_lists_admin_actions(admin_client, admin):
    admin_client.post("/acme/settings/users/invite", data={
        "name": "Sam", "email": "sam@acme.example", "roles": ["seller"]})
    page = admin_client.get("/acme/settings/audit").get_data(as_text=True)
    assert "user.invited" in page and "sam@acme.example" in page and admin.name in page
