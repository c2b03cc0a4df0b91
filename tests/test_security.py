import pytest

from saas import create_app
from saas.config import ConfigError, load
from tests.conftest import app_config


@pytest.fixture
def csrf_client(app):
    csrf_app = create_app(app_config(WTF_CSRF_ENABLED=True))
    return csrf_app.test_client()


def test_a_form_without_csrf_token_is_refused(csrf_client, admin):
    response = csrf_client.post("/acme/login", data={"email": admin.email,
                                                     "password": admin.password})
    assert response.status_code == 400
    assert b"This form expired or did not come from this site" in response.data


def test_a_form_with_its_csrf_token_is_accepted(csrf_client, admin):
    page = csrf_client.get("/acme/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = csrf_client.post("/acme/login", data={
        "email": admin.email, "password": admin.password, "csrf_token": token})
    assert response.status_code == 302


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script(client):
    for path in ("/", "/signup"):
        html = client.get(path).get_data(as_text=True)
        for tag in html.split("<script")[1:]:
            assert "src=" in tag.split(">")[0], f"inline script on {path}"


def test_secret_key_is_required_outside_development():
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load({"APP_ENV": "production", "DATABASE_URL": "postgresql://x/y",
              "REDIS_URL": "redis://x"})
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load({"APP_ENV": "production", "SECRET_KEY": "short", "DATABASE_URL": "postgresql://x/y",
              "REDIS_URL": "redis://x"})
    settings = load({"APP_ENV": "development"})
    assert settings.secret_key and settings.database_url.startswith("sqlite:///")


def test_production_cookies_are_secure():
    settings = load({"APP_ENV": "production", "SECRET_KEY": "k" * 40,
                     "DATABASE_URL": "postgresql://u@h/db", "REDIS_URL": "redis://h:6379/0",
                     "PUBLIC_URL": "https://sequences.example.com"})
    config = settings.as_flask_config()
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_bad_settings_say_what_is_wrong():
    with pytest.raises(ConfigError, match="APP_ENV must be one of"):
        load({"APP_ENV": "staging"})
    with pytest.raises(ConfigError, match="TICK_SECONDS must be a whole number"):
        load({"APP_ENV": "development", "TICK_SECONDS": "often"})
