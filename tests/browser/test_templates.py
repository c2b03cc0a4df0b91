"""An SMS template written in the browser: the part count follows the typing (static JS, no
inline script), the template is saved and previewed against a lead."""

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from tests.browser.test_records import sign_in

pytestmark = pytest.mark.browser


def test_sms_count_is_live_then_preview(live_server, page, make_tenant, make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    add_records(tenant, 1, first_name="Ana", last_name="Visitor")
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    expect(page.get_by_text("No templates yet.")).to_be_visible()
    page.get_by_role("link", name="New SMS template").first.click()
    page.get_by_label("Name", exact=True).fill("Stand follow-up")
    count = page.locator("#sms-count")
    message = page.get_by_label("Message")
    message.fill("a" * 160)
    expect(count).to_have_text("160 characters · 1 SMS part · GSM-7 (160 per part)")
    message.fill("a" * 161)
    expect(count).to_have_text("161 characters · 2 SMS parts · GSM-7 (153 per part)")
    message.fill("€" * 80)
    expect(count).to_contain_text("160 characters · 1 SMS part")
    message.fill("Thanks for visiting 😀")
    expect(count).to_contain_text("UCS-2 (70 per part)")
    message.fill("Hi {{ record.first_name }}, thanks from {{ tenant.name }}!")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The template “Stand follow-up” is saved.")).to_be_visible()

    page.get_by_role("link", name="Preview").click()
    expect(page.locator("#preview-body")).to_have_text("Hi Ana, thanks from Contoso Coffee!")
    expect(page.locator("#preview-sms-count")).to_contain_text("1 SMS part · GSM-7")


def test_in_french_the_count_follows_the_typing_and_a_version_is_added(
        app, live_server, page, make_tenant, make_user, add_records):
    from sqlalchemy import update

    from saas.auth.models import User
    from saas.extensions import db
    from saas.tenancy import tenant_context

    tenant = make_tenant("fabrikam", name="Fabrikam")
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="lea@fabrikam.example")
    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(update(User).where(User.id == user.id).values(language="fr"))
        db.session.commit()
    add_records(tenant, 1, first_name="Ana", last_name="Visiteur")
    sign_in(page, live_server, "fabrikam", "lea@fabrikam.example")

    page.locator("#mainnav").get_by_role("link", name="Modèles").click()
    page.get_by_role("link", name="Nouveau modèle de SMS").first.click()
    page.get_by_label("Nom", exact=True).fill("Suivi du stand")
    page.locator("#language").select_option("en")
    count = page.locator("#sms-count")
    message = page.get_by_label("Message")
    message.fill("a" * 160)
    expect(count).to_have_text("160 caractères · 1 partie SMS · GSM-7 (160 par partie)")
    message.fill("a" * 161)
    expect(count).to_have_text("161 caractères · 2 parties SMS · GSM-7 (153 par partie)")
    message.fill("a" * 1234)
    expect(count).to_contain_text("1\u202f234 caractères · 9 parties SMS")
    message.fill("Hi {{ record.first_name }}, thanks for visiting!")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Le modèle « Suivi du stand » est enregistré.")).to_be_visible()

    page.get_by_label("Ajouter une version en…").select_option("fr")
    page.get_by_role("button", name="Ajouter une version").click()
    expect(page.get_by_role("heading", name="Nouvelle version de « Suivi du stand »")) \
        .to_be_visible()
    page.get_by_label("Message").fill("Bonjour {{ record.first_name }}, merci de votre visite !")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("La version Français de « Suivi du stand » est enregistrée.")) \
        .to_be_visible()
    page.get_by_role("link", name="Aperçu").click()
    expect(page.locator("#preview-body")).to_have_text(
        "Bonjour Ana, merci de votre visite !")
    page.locator("#mainnav").get_by_role("link", name="Modèles").click()
    expect(page.locator("#templates")).to_contain_text("English, Français")
