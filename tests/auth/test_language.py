"""Choosing the language (issue 19): the user's choice, else the browser's Accept-Language, else
the workspace's default, else English; the profile's select, the user menu's switcher, and the
workspace's language chosen at sign-up and in Settings."""

from __future__ import annotations

from sqlalchemy import select

from saas.admin.models import AuditEvent
from saas.auth.models import Role, Tenant, User
from saas.extensions import db
from saas.tenancy import tenant_context

FR = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-GB,en;q=0.8"}


def _set(app, tenant_id: int, *, user_id: int | None = None, user_language=None,
         tenant_language: str | None = None) -> None:
    with app.app_context(), tenant_context(tenant_id):
        if tenant_language is not None:
            db.session.execute(select(Tenant).where(Tenant.id == tenant_id)).scalar_one() \
                .language = tenant_language
        if user_id is not None:
            db.session.execute(select(User).where(User.id == user_id)).scalar_one() \
                .language = user_language
        db.session.commit()


def _language_of(app, user) -> str | None:
    with app.app_context(), tenant_context(user.tenant.id):
        return db.session.execute(select(User.language).where(User.id == user.id)).scalar_one()


def _html_lang(response) -> str:
    html = response.get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


# --- the order: user > Accept-Language > workspace > English --------------------------------

def test_english_when_nobody_says_anything(client, admin):
    page = client.get("/acme/login")
    assert _html_lang(page) == "en"
    assert "Sign in to Acme" in page.get_data(as_text=True)


def test_the_workspace_default_speaks_when_the_browser_does_not(app, client, admin):
    _set(app, admin.tenant.id, tenant_language="fr")
    page = client.get("/acme/login")
    assert _html_lang(page) == "fr"
    assert "Se connecter à Acme" in page.get_data(as_text=True)


def test_the_browser_wins_over_the_workspace(app, client, admin):
    _set(app, admin.tenant.id, tenant_language="fr")
    page = client.get("/acme/login", headers=EN)
    assert _html_lang(page) == "en"
    _set(app, admin.tenant.id, tenant_language="en")
    assert _html_lang(client.get("/acme/login", headers=FR)) == "fr"


def test_a_browser_language_we_do_not_speak_falls_to_the_workspace(app, client, admin):
    _set(app, admin.tenant.id, tenant_language="fr")
    page = client.get("/acme/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert _html_lang(page) == "fr"


def test_the_users_choice_wins_over_the_browser_and_the_workspace(app, admin_client, admin):
    _set(app, admin.tenant.id, user_id=admin.id, user_language="fr", tenant_language="en")
    page = admin_client.get("/acme/", headers=EN)
    assert _html_lang(page) == "fr"
    assert "Ravi de vous revoir, Ada" in page.get_data(as_text=True)
    _set(app, admin.tenant.id, user_id=admin.id, user_language="en", tenant_language="fr")
    page = admin_client.get("/acme/", headers=FR)
    assert _html_lang(page) == "en"
    assert "Good to see you, Ada" in page.get_data(as_text=True)


def test_no_choice_of_the_user_follows_the_browser(app, admin_client, admin):
    _set(app, admin.tenant.id, user_id=admin.id, user_language=None, tenant_language="en")
    assert _html_lang(admin_client.get("/acme/", headers=FR)) == "fr"
    assert _html_lang(admin_client.get("/acme/")) == "en"


# --- the user menu's switcher ----------------------------------------------------------------

def test_the_user_menu_has_a_switcher_per_language(admin_client):
    html = admin_client.get("/acme/settings/users").get_data(as_text=True)
    menu = html.split('class="language-switcher"', 1)[1].split("</div>", 1)[0]
    # A button for each other language; the language the page speaks is shown as current.
    assert menu.count('action="/acme/language"') == 1
    assert 'name="language" value="fr"' in menu
    assert '<button type="submit" class="linklike" lang="fr">Français</button>' in menu
    assert 'name="next" value="/acme/settings/users?"' in menu
    assert '<strong lang="en" aria-current="true">English</strong>' in menu
    french = admin_client.get("/acme/settings/users", headers={"Accept-Language": "fr"}) \
        .get_data(as_text=True).split('class="language-switcher"', 1)[1].split("</div>", 1)[0]
    assert '<strong lang="fr" aria-current="true">Français</strong>' in french
    assert '<button type="submit" class="linklike" lang="en">English</button>' in french


def test_the_switcher_sets_the_language_and_goes_back_to_the_same_page(app, admin_client, admin):
    response = admin_client.post("/acme/language", data={
        "language": "fr", "next": "/acme/settings/users?status=active"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/acme/settings/users?status=active"
    assert _language_of(app, admin) == "fr"
    page = admin_client.get(response.headers["Location"], headers=EN)
    assert "Utilisateurs et rôles" in page.get_data(as_text=True)

    back = admin_client.post("/acme/language", data={"language": "en", "next": "/acme/"})
    assert back.headers["Location"] == "/acme/"
    assert _language_of(app, admin) == "en"


def test_the_switcher_refuses_a_language_we_do_not_speak(app, admin_client, admin):
    _set(app, admin.tenant.id, user_id=admin.id, user_language="fr")
    for bad in ("de", "", "FR", "fr-FR", "fr\x01x"):
        response = admin_client.post("/acme/language", data={"language": bad, "next": "/acme/"})
        assert response.status_code == 400, bad
        assert "Choisissez l’une des langues de la liste." in response.get_data(as_text=True)
        assert _language_of(app, admin) == "fr"
    too_long = admin_client.post("/acme/language", data={"language": "x" * 17})
    assert too_long.status_code == 400
    assert "Le champ «\u00a0language\u00a0» est trop long\u00a0: 16 caractères au plus." in \
        too_long.get_data(as_text=True)
    assert admin_client.post("/acme/language", data={"next": "/acme/"}).status_code == 400
    assert _language_of(app, admin) == "fr"


def test_the_switcher_does_not_follow_an_unsafe_next(app, admin_client, admin):
    for unsafe in ("https://evil.example/", "//evil.example/acme/", "/other-tenant/",
                   "/\\evil.example", "/%2F/evil.example", "%2F%2Fevil.example",
                   "javascript:alert(1)", "/acme/\tx"):
        response = admin_client.post("/acme/language", data={"language": "fr", "next": unsafe})
        assert response.status_code == 302, unsafe
        assert response.headers["Location"] == "/acme/", unsafe
    assert _language_of(app, admin) == "fr"  # the language is still set


def test_the_switcher_needs_a_signed_in_user(app, client, admin):
    response = client.post("/acme/language", data={"language": "fr", "next": "/acme/"})
    assert response.status_code == 302 and "/acme/login" in response.headers["Location"]
    assert _language_of(app, admin) is None


def test_a_user_of_another_workspace_cannot_switch_here(app, client, admin, make_tenant,
                                                        make_user, login):
    other = make_user(make_tenant("globex"), roles=[Role.SELLER])
    login(client, other)
    response = client.post("/acme/language", data={"language": "fr", "next": "/acme/"})
    assert response.status_code == 302 and "/acme/login" in response.headers["Location"]
    assert _language_of(app, admin) is None and _language_of(app, other) is None


# --- the profile's select ----------------------------------------------------------------------

def test_the_profile_offers_the_browsers_language_and_each_language(admin_client):
    html = admin_client.get("/acme/account/availability").get_data(as_text=True)
    select_html = html.split('<select id="language" name="language"', 1)[1].split("</select>")[0]
    assert '<option value="" selected>Browser\'s language</option>' in select_html
    assert '<option value="en" lang="en">English</option>' in select_html
    assert '<option value="fr" lang="fr">Français</option>' in select_html


def test_the_profile_saves_the_language_and_back_to_the_browsers(app, admin_client, admin):
    response = admin_client.post("/acme/account/language", data={"language": "fr"})
    assert response.status_code == 302
    assert _language_of(app, admin) == "fr"
    page = admin_client.get("/acme/account/availability", headers=EN).get_data(as_text=True)
    assert "Les pages sont désormais en Français." in page  # the flash speaks the new language
    assert '<option value="fr" lang="fr" selected>Français</option>' in page

    admin_client.post("/acme/account/language", data={"language": ""})
    assert _language_of(app, admin) is None
    page = admin_client.get("/acme/account/availability", headers=EN).get_data(as_text=True)
    assert "Pages now speak your browser&#39;s language." in page


def test_the_profile_refuses_a_bad_language_next_to_the_field(app, admin_client, admin):
    _set(app, admin.tenant.id, user_id=admin.id, user_language="en")
    response = admin_client.post("/acme/account/language", data={"language": "klingon"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p class="error" id="language-error">Choose one of the languages in the list.</p>' \
        in html
    assert _language_of(app, admin) == "en"
    too_long = admin_client.post("/acme/account/language", data={"language": "f" * 100})
    assert too_long.status_code == 400 and "“language” is too long" in too_long.get_data(
        as_text=True)
    assert _language_of(app, admin) == "en"


# --- the workspace's language: sign-up and Settings -----------------------------------------

SIGNUP = {"org_name": "Contoso Coffee", "slug": "contoso", "name": "Dana Scully",
          "email": "dana@contoso.example", "password": "tangerine-sky-77",
          "confirm": "tangerine-sky-77"}


def _tenant_language(app, slug: str) -> str:
    with app.app_context():
        return db.session.execute(select(Tenant.language).where(Tenant.slug == slug)).scalar_one()


def test_the_sign_up_form_preselects_the_browsers_language(client):
    french = client.get("/signup", headers=FR).get_data(as_text=True)
    assert '<option selected value="fr">Français</option>' in french
    assert "Langue de l’espace de travail" in french
    english = client.get("/signup").get_data(as_text=True)
    assert '<option selected value="en">English</option>' in english


def test_sign_up_stores_the_workspaces_language(app, client):
    response = client.post("/signup", data={**SIGNUP, "language": "fr"}, headers=EN)
    assert response.status_code == 302
    assert _tenant_language(app, "contoso") == "fr"
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "tenant.signed_up").execution_options(all_tenants=True)
        ).scalar_one()
        assert event.details["language"] == "fr"


def test_sign_up_without_the_field_takes_the_browsers_language(app, client):
    assert client.post("/signup", data=SIGNUP, headers=FR).status_code == 302
    assert _tenant_language(app, "contoso") == "fr"


def test_sign_up_refuses_a_language_we_do_not_speak(app, client):
    response = client.post("/signup", data={**SIGNUP, "language": "de"})
    assert response.status_code == 200
    assert "Choose one of the languages in the list." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(Tenant).where(Tenant.slug == "contoso")).first() is None


def test_settings_change_the_workspaces_language_with_an_audit_entry(app, admin_client, admin):
    page = admin_client.get("/acme/settings/workspace").get_data(as_text=True)
    assert 'action="/acme/settings/workspace/language"' in page
    assert '<option selected value="en">English</option>' in page

    response = admin_client.post("/acme/settings/workspace/language", data={"language": "fr"})
    assert response.status_code == 302
    assert _tenant_language(app, "acme") == "fr"
    with app.app_context(), tenant_context(admin.tenant.id):
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "workspace.language_changed")).scalar_one()
        assert event.details == {"before": "en", "after": "fr"}
        assert event.actor_id == admin.id
    # The admin chose no language and the test client sends none: Settings now speak French.
    page = admin_client.get("/acme/settings/workspace").get_data(as_text=True)
    assert "La langue par défaut de l’espace de travail est désormais\u00a0: Français." in page
    assert '<option selected value="fr">Français</option>' in page


def test_settings_refuse_a_bad_workspace_language(app, admin_client, admin):
    response = admin_client.post("/acme/settings/workspace/language", data={"language": "xx"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert _tenant_language(app, "acme") == "en"
    with app.app_context(), tenant_context(admin.tenant.id):
        assert db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "workspace.language_changed")).first() is None


def test_only_admins_change_the_workspaces_language(app, client, admin, make_user, login):
    seller = make_user(admin.tenant, roles=[Role.SELLER])
    login(client, seller)
    response = client.post("/acme/settings/workspace/language", data={"language": "fr"})
    assert response.status_code == 403
    assert _tenant_language(app, "acme") == "en"


def test_a_page_answering_a_post_sends_the_switcher_home(admin_client):
    """A page rendered by a POST (a refused form) cannot be fetched again by a redirect."""
    page = admin_client.post("/acme/account/time-zone", data={"time_zone": "Mars/Olympus"})
    assert page.status_code == 422
    menu = page.get_data(as_text=True).split('class="language-switcher"', 1)[1] \
        .split("</div>", 1)[0]
    assert 'name="next"' not in menu
    response = admin_client.post("/acme/language", data={"language": "fr"})
    assert response.headers["Location"] == "/acme/"
