from sqlalchemy import select

from saas.auth.models import Role, User
from saas.extensions import db
from saas.tenancy import tenant_context


def test_password_change_ends_other_sessions_but_keeps_this_one(app, admin, login):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, admin)
    login(phone, admin)

    response = laptop.post("/acme/account/password", data={
        "current_password": admin.password, "password": "new-lemon-tree-55",
        "confirm": "new-lemon-tree-55"})
    assert response.status_code == 302

    assert laptop.get("/acme/").status_code == 200
    assert phone.get("/acme/").headers["Location"].startswith("/acme/login")


def test_password_change_needs_the_current_password(admin_client):
    response = admin_client.post("/acme/account/password", data={
        "current_password": "not-it-at-all", "password": "new-lemon-tree-55",
        "confirm": "new-lemon-tree-55"})
    assert b"This is not your current password." in response.data


def test_deactivation_ends_the_users_sessions(app, admin, make_user, login):
    seller = make_user(admin.tenant, roles=[Role.SELLER])
    seller_client, admin_client = app.test_client(), app.test_client()
    login(seller_client, seller)
    login(admin_client, admin)
    assert seller_client.get("/acme/leads").status_code == 200  # ("/" sends sellers on)

    admin_client.post(f"/acme/settings/users/{seller.id}/deactivate")

    assert seller_client.get("/acme/").headers["Location"].startswith("/acme/login")
    again = login(seller_client, seller)
    assert again.status_code == 200  # a deactivated user cannot sign in
    with app.app_context(), tenant_context(admin.tenant.id):
        user = db.session.execute(select(User).where(User.id == seller.id)).scalar_one()
        assert user.status == "deactivated"
