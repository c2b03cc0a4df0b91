"""A person signs up an organization, signs out, signs in, invites a seller and sees them."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_sign_up_sign_in_and_invite_a_seller(live_server, page):
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Sign up your organization").click()
    expect(page.get_by_label("Organization name")).to_be_visible()
    page.wait_for_load_state()  # the page's scripts have run (a person cannot type sooner)
    page.get_by_label("Organization name").fill("Contoso Coffee")
    expect(page.get_by_label("Web address")).to_have_value("contoso-coffee")
    page.get_by_label("Your name").fill("Dana Scully")
    page.get_by_label("Work email").fill("dana@contoso.example")
    page.get_by_label("Password", exact=True).fill("tangerine-sky-77")
    page.get_by_label("Confirm password").fill("tangerine-sky-77")
    page.get_by_role("button", name="Create organization").click()

    expect(page.get_by_role("heading", name="Good to see you, Dana")).to_be_visible()
    expect(page.get_by_text("30-day Sales Enterprise trial")).to_be_visible()

    page.get_by_text("Dana Scully").click()  # the user menu
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/contoso-coffee/login$"))

    page.get_by_label("Email").fill("dana@contoso.example")
    page.get_by_label("Password").fill("a-wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
    page.get_by_label("Password").fill("tangerine-sky-77")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Good to see you, Dana")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Users and roles")).to_be_visible()
    page.get_by_role("link", name="Invite a user").click()
    page.get_by_label("Name").fill("Sam Seller")
    page.get_by_label("Email").fill("sam@contoso.example")
    expect(page.get_by_label("Seller")).to_be_checked()
    page.get_by_role("button", name="Send invitation").click()

    # No email provider yet: the invitation waits in the Outbox, and the flash links there.
    flash = page.locator(".flash", has_text="The invitation to sam@contoso.example waits in the")
    expect(flash).to_contain_text("no email provider is configured, so nothing was sent")
    row = page.locator("#users tr", has_text="sam@contoso.example")
    expect(row).to_contain_text("Sam Seller")
    expect(row).to_contain_text("Seller")
    expect(row).to_contain_text("Invited")

    flash.get_by_role("link", name="Outbox").click()
    page.get_by_role("link", name="Dana Scully invited you to Contoso Coffee").click()
    expect(page.get_by_text("Choose your password here")).to_be_visible()

    # Sam opens the link from the message, in their own browser, and joins.
    link = page.locator(".message-body a").first.get_attribute("href")
    sam = page.context.browser.new_context().new_page()
    sam.goto(link.replace("http://localhost", live_server))
    expect(sam.get_by_role("heading", name="Join Contoso Coffee")).to_be_visible()
    sam.get_by_label("Password", exact=True).fill("blue-harbour-31")
    sam.get_by_label("Confirm password").fill("blue-harbour-31")
    sam.get_by_role("button", name="Join").click()
    expect(sam.get_by_text("Welcome to Contoso Coffee!")).to_be_visible()
    sam.context.close()

    page.get_by_role("link", name="Users and roles").click()
    expect(page.locator("#users tr", has_text="sam@contoso.example")).to_contain_text("Active")


def test_a_french_browser_signs_up_in_french_and_switches_language(live_server, browser):
    """The sign-up page speaks the browser's French and preselects it as the workspace's
    language; the user menu's switcher changes the language and stays on the same page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{live_server}/")
        page.get_by_role("link", name="Inscrire votre organisation").click()
        page.wait_for_load_state()
        expect(page.get_by_label("Langue de l’espace de travail")).to_have_value("fr")
        page.get_by_label("Nom de l’organisation").fill("Café Contoso")
        page.get_by_label("Adresse web").fill("cafe-contoso")
        page.get_by_label("Votre nom").fill("Denise Martin")
        page.get_by_label("E-mail professionnel").fill("denise@contoso.example")
        page.get_by_label("Mot de passe", exact=True).fill("tangerine-sky-77")
        page.get_by_label("Confirmer le mot de passe").fill("tangerine-sky-77")
        page.get_by_role("button", name="Créer l’organisation").click()
        expect(page.get_by_role("heading", name="Ravi de vous revoir, Denise")).to_be_visible()

        page.get_by_role("navigation", name="Principal").get_by_role(
            "link", name="Paramètres").click()
        page.get_by_role("link", name="Espace de travail", exact=True).click()
        expect(page.get_by_label("Langue par défaut")).to_have_value("fr")

        page.get_by_text("Denise Martin").click()  # the user menu
        page.get_by_role("button", name="English").click()
        expect(page).to_have_url(re.compile(r"/cafe-contoso/settings/workspace$"))
        expect(page.get_by_role("heading", name="Sales accelerator workspace")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "en")

        page.get_by_text("Denise Martin").click()
        page.get_by_role("button", name="Français").click()
        expect(page.get_by_role(
            "heading", name="Espace de travail de l’accélérateur de ventes")).to_be_visible()
    finally:
        context.close()
