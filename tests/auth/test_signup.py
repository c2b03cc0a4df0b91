from sqlalchemy import select

from saas.admin.models import AuditEvent
from saas.auth.models import Licence, Tenant, User
from saas.extensions import db
from saas.tenancy import tenant_context
from saas.timeutil import aware, utcnow

GOOD = {
    "org_name": "Contoso Coffee",
    "slug": "contoso",
    "name": "Dana Scully",
    "email": "Dana@Contoso.example",
    "password": "tangerine-sky-77",
    "confirm": "tangerine-sky-77",
}


def signup(client, **changes):
    return client.post("/signup", data={**GOOD, **changes})


def test_signup_creates_tenant_on_trial_and_logs_the_admin_in(app, client):
    response = signup(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/contoso/"

    home = client.get("/contoso/")
    assert home.status_code == 200
    assert b"Good to see you, Dana" in home.data
    assert b"Sales Enterprise trial" in home.data

    with app.app_context():
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == "contoso")).scalar_one()
        assert tenant.name == "Contoso Coffee"
        assert tenant.licence == Licence.SALES_ENTERPRISE
        days = (aware(tenant.licence_trial_ends_at) - utcnow()).days
        assert days in (29, 30)
        with tenant_context(tenant.id):
            user = db.session.execute(select(User)).scalar_one()
            assert user.email == "dana@contoso.example"
            assert user.roles == ["system_administrator"]
            assert user.password_hash.startswith("$argon2id$")
            actions = db.session.execute(select(AuditEvent.action)).scalars().all()
            assert actions == ["tenant.signed_up"]


def test_taken_slug_is_refused_next_to_the_field(client, make_tenant):
    make_tenant("contoso")
    response = signup(client)
    assert response.status_code == 200
    assert "“contoso” is already taken" in response.get_data(as_text=True)


def test_reserved_slug_is_refused(client):
    response = signup(client, slug="signup")
    assert "“signup” is reserved" in response.get_data(as_text=True)


def test_malformed_slug_is_refused(client):
    response = signup(client, slug="Not A Slug!")
    assert "Use lowercase letters, digits or hyphens" in response.get_data(as_text=True)


def test_weak_passwords_are_refused(client):
    too_short = signup(client, password="short1", confirm="short1")
    assert "Use at least 10 characters." in too_short.get_data(as_text=True)
    common = signup(client, password="Password123!", confirm="Password123!")
    assert "among the most common" in common.get_data(as_text=True)
    personal = signup(client, password="contoso-rules-1", confirm="contoso-rules-1")
    assert "must not contain your name" in personal.get_data(as_text=True)


def test_mismatched_confirmation_is_refused(app, client):
    response = signup(client, confirm="tangerine-sky-78")
    assert "The two passwords differ." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(Tenant)).first() is None


def test_find_organization_redirects_to_its_login(client, make_tenant):
    make_tenant("globex")
    assert client.post("/", data={"slug": "Globex"}).headers["Location"] == "/globex/login"
    missing = client.post("/", data={"slug": "nobody"})
    assert "No organization has this address" in missing.get_data(as_text=True)
