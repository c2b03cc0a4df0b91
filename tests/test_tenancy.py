import pytest
from sqlalchemy import delete, func, select, update
from werkzeug.exceptions import NotFound

from saas.auth.models import Role, User
from saas.extensions import db
from saas.tenancy import (
    CrossTenantWrite,
    TenantContextMissing,
    get_or_404,
    tenant_context,
)


@pytest.fixture
def two_tenants(make_tenant, make_user):
    a, b = make_tenant("alpha"), make_tenant("beta")
    return a, b, make_user(a, roles=[Role.SELLER]), make_user(b, roles=[Role.SELLER])


def test_query_on_a_scoped_model_without_tenant_raises(app, two_tenants):
    with app.app_context():
        with pytest.raises(TenantContextMissing):
            db.session.execute(select(User)).all()
        with pytest.raises(TenantContextMissing):
            db.session.execute(select(func.count(User.id))).scalar()
        with pytest.raises(TenantContextMissing):
            db.session.execute(update(User).values(name="x"))
        db.session.rollback()


def test_queries_see_only_the_current_tenant(app, two_tenants):
    a, b, user_a, user_b = two_tenants
    with app.app_context(), tenant_context(a.id):
        assert db.session.execute(select(User.id)).scalars().all() == [user_a.id]
        assert db.session.execute(
            select(User).where(User.id == user_b.id)).scalar_one_or_none() is None
        with pytest.raises(NotFound):
            get_or_404(User, user_b.id)
        assert get_or_404(User, user_a.id).id == user_a.id


def test_bulk_update_and_delete_are_scoped(app, two_tenants):
    a, b, user_a, user_b = two_tenants
    with app.app_context():
        with tenant_context(a.id):
            db.session.execute(update(User).values(name="Renamed"))
            db.session.execute(delete(User).where(User.id == user_b.id))
            db.session.commit()
        with tenant_context(b.id):
            other = db.session.execute(select(User)).scalar_one()
            assert other.id == user_b.id and other.name != "Renamed"


def test_opt_out_is_explicit(app, two_tenants):
    with app.app_context():
        stmt = select(func.count(User.id)).execution_options(all_tenants=True)
        assert db.session.execute(stmt).scalar() == 2


def test_inserts_take_the_tenant_from_context_and_refuse_another(app, two_tenants):
    a, b, *_ = two_tenants
    with app.app_context():
        with tenant_context(a.id):
            user = User(email="new@alpha.example", name="New", roles=["seller"])
            db.session.add(user)
            db.session.commit()
            assert user.tenant_id == a.id
        with tenant_context(a.id):
            db.session.add(User(tenant_id=b.id, email="x@beta.example", name="X", roles=[]))
            with pytest.raises(CrossTenantWrite):
                db.session.flush()
            db.session.rollback()
        db.session.add(User(email="y@nowhere.example", name="Y", roles=[]))
        with pytest.raises(TenantContextMissing):
            db.session.flush()
        db.session.rollback()


def test_unknown_tenant_slug_is_404(client):
    assert client.get("/no-such-org/login").status_code == 404


def test_a_count_naming_no_entity_is_still_scoped(app, two_tenants):
    a, *_ = two_tenants
    with app.app_context():
        stmt = select(func.count()).select_from(User)
        with pytest.raises(TenantContextMissing):
            db.session.execute(stmt).scalar()
        db.session.rollback()
        with tenant_context(a.id):
            assert db.session.execute(stmt).scalar() == 1
