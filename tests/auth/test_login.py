from saas.auth.models import Role


def test_login_and_logout(client, admin, login):
    page = client.get("/acme/login")
    assert b"Sign in to Acme" in page.data
    response = login(client, admin)
    assert response.headers["Location"] == "/acme/"
    assert client.get("/acme/").status_code == 200

    out = client.post("/acme/logout")
    assert out.headers["Location"] == "/acme/login"
    assert client.get("/acme/").headers["Location"].startswith("/acme/login")


def test_wrong_password_says_so_without_telling_which(client, admin, login):
    response = login(client, admin, password="not-the-password")
    assert response.status_code == 200
    assert b"Wrong email or password." in response.data


def test_logout_is_not_possible_by_get(admin_client):
    assert admin_client.get("/acme/logout").status_code == 405
    assert admin_client.get("/acme/").status_code == 200


def test_a_session_of_one_tenant_is_anonymous_at_another(client, admin, make_tenant, make_user):
    other = make_tenant("globex")
    make_user(other, roles=[Role.SELLER])
    client.post("/acme/login", data={"email": admin.email, "password": admin.password})
    response = client.get("/globex/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/globex/login")


def test_next_redirect_stays_on_the_site(client, admin):
    data = {"email": admin.email, "password": admin.password}
    inside = client.post("/acme/login?next=/acme/settings/users", data=data)
    assert inside.headers["Location"] == "/acme/settings/users"
    client.post("/acme/logout")
    for evil in ("https://evil.example/", "//evil.example/acme/", "/globex/", "/\\evil.example"):
        response = client.post(f"/acme/login?next={evil}", data=data)
        assert response.headers["Location"] == "/acme/", evil
        client.post("/acme/logout")


def test_login_is_rate_limited_per_account(client, admin):
    for _ in range(5):
        wrong = client.post("/acme/login", data={"email": admin.email, "password": "wrong-1234"})
        assert wrong.status_code == 200
    blocked = client.post("/acme/login", data={"email": admin.email, "password": admin.password})
    assert blocked.status_code == 429
    assert b"Too many attempts" in blocked.data
    # Another account from the same address is not blocked by this account's limit.
    other = client.post("/acme/login", data={"email": "someone@acme.example", "password": "x"})
    assert other.status_code == 200


def test_login_is_rate_limited_per_ip(client, admin):
    for n in range(30):
        response = client.post("/acme/login",
                               data={"email": f"guess{n}@acme.example", "password": "wrong-1234"})
        assert response.status_code == 200
    blocked = client.post("/acme/login", data={"email": admin.email, "password": admin.password})
    assert blocked.status_code == 429


def test_successful_logins_do_not_count_towards_the_limit(client, admin, login):
    for _ in range(7):
        assert login(client, admin).status_code == 302
        client.post("/acme/logout")


def test_login_gives_a_new_session(client, admin, login):
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    login(client, admin)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{admin.id}:")
