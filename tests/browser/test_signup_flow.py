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

    expect(page.get_by_text("Invitation sent to sam@contoso.example.")).to_be_visible()
    row = page.locator("#users tr", has_text="sam@contoso.example")
    expect(row).to_contain_text("Sam Seller")
    expect(row).to_contain_text("Seller")
    expect(row).to_contain_text("Invited")

    page.get_by_role("link", name="Outbox").click()
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
