"""reference/004, exercises 1 and 2, in French, as the lab is written: a French-speaking
browser (Chromium with the fr-FR locale, no language chosen by anyone) configures the
workspace, creates the segment « Prospects du salon commercial » (Source de prospect – Égal à –
Salon commercial), simulates, saves and activates it; creates « Suivi du salon commercial » from
scratch (« Envoyer un e-mail » « e-mail d’introduction », « Définir le temps d’attente » 1 heure,
« Appel téléphonique » « Appel de suivi »), activates it with « Je comprends », connects the
segment and a lead, assigns a seller; and the seller works the lead in « Suivant » to the end."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from rq import Queue
from sqlalchemy import select

from saas.auth.models import Role
from saas.engine import clock
from saas.engine.models import Enrollment
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.tenancy import tenant_context
from tests.browser.test_segments import after_swap
from tests.conftest import PASSWORD
from worker.runner import AppWorker

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SCREENSHOTS")  # a folder: the README's French screenshots are taken here


def shoot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


@pytest.fixture
def french_page(browser, request):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def se_connecter(page, live_server, slug, email):
    page.goto(f"{live_server}/{slug}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def _add(page, plus_label: str, kind: str):
    page.get_by_role("link", name=plus_label).click()
    pane = page.locator("#pane")
    expect(pane.get_by_role("heading", name="Ajouter une étape")).to_be_visible()
    pane.get_by_role("button", name=kind).click()
    expect(pane.get_by_role("button", name="Enregistrer et fermer")).to_be_visible()
    return pane


def test_the_lab_in_french(app, live_server, french_page, browser, make_tenant, make_user,
                           add_records, redis_conn):
    page = french_page
    tenant = make_tenant("contoso", name="Contoso Coffee", workspace=False)
    make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR, Role.SEQUENCE_MANAGER],
              email="mo@contoso.example", name="Mona Responsable")
    sam = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example",
                    name="Samuel Vendeur")
    add_records(tenant, 2, lead_source="Trade show", owner_id=sam.id,
                first_name=lambda i: ["Anne", "Bruno"][i],
                last_name=lambda i: ["Visiteur", "Dupont"][i])
    add_records(tenant, 1, lead_source="Trade show", owner_id=None, first_name="Chloé",
                last_name="Personne", email="chloe@example.com")
    (wendy,) = add_records(tenant, 1, lead_source="Web", owner_id=sam.id, first_name="Wendy",
                           last_name="Toile", email="wendy@example.com", phone="+33612345678")
    add_records(tenant, 1, lead_source="Web", owner_id=sam.id, first_name="Xavier",
                last_name="Web", email="xavier@example.com")
    se_connecter(page, live_server, "contoso", "mo@contoso.example")
    main_menu = page.get_by_role("navigation", name="Principal")
    main = page.locator("#main")  # not the live region that repeats each message

    # Exercise 1, task 1: configure the workspace (quick setup, opportunities too), publish.
    main_menu.get_by_role("link", name="Paramètres").click()
    page.get_by_role("link", name="Espace de travail").click()
    page.get_by_role("link", name="Installation rapide").click()
    page.get_by_label("Opportunités").check()
    page.get_by_role("button", name="Publier").click()
    expect(main.get_by_text("L’espace de travail est publié : les séquences sont prêtes à "
                            "l’emploi.")).to_be_visible()

    # Exercise 1, task 2: the segment.
    main_menu.get_by_role("link", name="Segments").click()
    expect(main.get_by_text("Aucun segment pour l’instant.")).to_be_visible()
    page.get_by_role("link", name="Nouveau segment").first.click()
    page.get_by_label("Nom", exact=True).fill("Prospects du salon commercial")
    # Each choice brings its row back (htmx): wait for it before the next one.
    after_swap(page, lambda: page.locator('select[name="c-r.0-field"]')
               .select_option(label="Source de prospect"))
    after_swap(page, lambda: page.locator('select[name="c-r.0-operator"]')
               .select_option(label="Égal à"))
    value = page.locator('[name="c-r.0-value"]')
    if value.evaluate("e => e.tagName") == "SELECT":
        value.select_option(label="Salon commercial")
    else:
        value.fill("Trade show")
    page.get_by_role("button", name="Simuler les résultats").click()
    expect(page.get_by_role("heading", name="Membres simulés : 3")).to_be_visible()
    expect(page.locator("#simulation")).to_contain_text("Chloé Personne")
    expect(page.locator("#simulation")).not_to_contain_text("Wendy")
    page.get_by_role("button", name="Enregistrer").click()
    expect(main.get_by_text("Le segment « Prospects du salon commercial » est enregistré.")
           ).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Activer").click()
    expect(page.locator("#segment-status")).to_have_text("Actif")

    # Exercise 2, task 1: the sequence, from scratch.
    main_menu.get_by_role("link", name="Séquences").click()
    page.get_by_role("link", name="+ Nouvelle séquence").first.click()
    page.get_by_role("link", name="Démarrer de zéro").click()
    page.get_by_label("Nom").fill("Suivi du salon commercial")
    page.get_by_label("Description").fill(
        "Il s’agit d’une séquence de test pour le café test. Cette séquence sera utilisée pour "
        "suivre les clients potentiels après les salons commerciaux.")
    expect(page.get_by_label("Type d'enregistrement")).to_have_value("lead")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_role("heading", name="Suivi du salon commercial")).to_be_visible()

    # Task 2: the first activity, an email written by the seller.
    pane = _add(page, "Ajouter une étape au début", "Envoyer un e-mail")
    pane.get_by_label("Nom").fill("e-mail d’introduction")
    pane.get_by_label("Description").fill("Présenter le prospect à l’équipe commerciale")
    pane.get_by_role("button", name="Fermer", exact=True).click()
    expect(main.get_by_text("« e-mail d’introduction » est enregistrée.")).to_be_visible()
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(main.get_by_text("« Suivi du salon commercial » est enregistrée.", exact=False)
           ).to_be_visible()

    # Task 3: a one-hour wait, then a phone call.
    pane = _add(page, "Ajouter une étape après « e-mail d’introduction »",
                "Définir le temps d'attente")
    pane.get_by_label("Jours").fill("0")
    pane.get_by_label("Heures").fill("1")
    pane.get_by_role("button", name="Enregistrer et fermer").click()
    expect(page.locator(".tile-summary", has_text="1 heure")).to_be_visible()
    wait_tile = page.locator(".canvas .tile-name").nth(2).inner_text()
    pane = _add(page, f"Ajouter une étape après « {wait_tile} »", "Appel téléphonique")
    pane.get_by_label("Nom").fill("Appel de suivi")
    pane.get_by_role("button", name="Enregistrer et fermer").click()
    expect(page.locator(".tile-name", has_text="Appel de suivi")).to_be_visible()
    names = page.locator(".canvas .tile-name").all_inner_texts()
    assert names == ["Début", "e-mail d’introduction", wait_tile, "Appel de suivi", "Fin"]
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(main.get_by_text("Elle est prête à être activée.")).to_be_visible()

    # Task 4: activate, after « Je comprends ».
    page.get_by_role("link", name="Activer").click()
    page.get_by_role("button", name="Activer").click()
    expect(main.get_by_text("Cochez « Je comprends » pour confirmer l'activation.")
           ).to_be_visible()
    page.get_by_label("Je comprends").check()
    page.get_by_role("button", name="Activer").click()
    expect(page.locator("#active-banner")).to_contain_text("Cette séquence est activée.")
    shoot(page, "designer-fr")

    # Task 5: connect the segment (a background job), then assign the lead nobody owns.
    page.get_by_role("link", name="Enregistrements connectés").first.click()
    page.get_by_label("Segment à connecter").select_option(
        label="Prospects du salon commercial (3)")
    page.get_by_role("button", name="Connecter le segment").click()
    AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    expect(main.get_by_text("Connexion terminée : 3 sur 3.")).to_be_visible()
    rows = page.locator("#connected-records tbody tr")
    expect(rows).to_have_count(3)
    chloe = rows.filter(has_text="Chloé Personne")
    chloe.get_by_label("Vendeur de Chloé Personne").select_option(label="Samuel Vendeur")
    chloe.get_by_role("button", name="Affecter").click()
    expect(main.get_by_text("Vendeur affecté ; la séquence a démarré.")).to_be_visible()
    expect(rows.filter(has_text="Chloé Personne")).to_contain_text("e-mail d’introduction")
    shoot(page, "connected-fr")

    # Task 6: connect one more lead from its record page.
    page.goto(f"{live_server}/contoso/records/{wendy}")
    sequences = page.locator("#record-sequences")
    sequences.get_by_label("Connecter une séquence").select_option(
        label="Suivi du salon commercial")
    sequences.get_by_role("button", name="Connecter une séquence").click()
    expect(main.get_by_text("Connecté à « Suivi du salon commercial ».")).to_be_visible()
    expect(page.locator("#record-sequences")).to_contain_text("e-mail d’introduction")

    # The seller works Wendy's lead in « Suivant », in French, to the end of the sequence.
    seller = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    sp = seller.new_page()
    sp.set_default_timeout(20_000)
    try:
        se_connecter(sp, live_server, "contoso", "sam@contoso.example")
        expect(sp.get_by_role("heading", name="Ma liste de travail")).to_be_visible()
        row = sp.locator("#worklist tbody tr").filter(has_text="Wendy Toile")
        expect(row).to_contain_text("e-mail d’introduction")
        row.get_by_role("link", name="Wendy Toile").click()
        panel = sp.locator("#upnext")
        expect(panel.get_by_role("heading", name="Suivant")).to_be_visible()
        expect(panel.get_by_text("Présenter le prospect à l’équipe commerciale")).to_be_visible()
        shoot(sp, "upnext-fr")
        panel.get_by_text("Ouvrir l'éditeur").click()
        panel.get_by_label("Objet").fill("Merci de votre visite")
        panel.get_by_label("Message").fill("Bonjour Wendy, ravie de vous avoir rencontrée.")
        panel.get_by_role("button", name="Envoyer l'e-mail").click()
        panel = sp.locator("#upnext")
        expect(panel.locator(".un-waiting")).to_contain_text("1 heure")
        expect(panel.locator(".un-done")).to_contain_text("e-mail d’introduction")
        with app.app_context(), tenant_context(tenant.id):
            message = db.session.execute(select(OutboxMessage).where(
                OutboxMessage.to_address == "wendy@example.com")).scalar_one()
            assert "ravie de vous avoir rencontrée" in message.text_body
        with app.app_context():
            clock.move_forward(timedelta(hours=1, minutes=5))
            run_tick(budget_seconds=5)
        sp.reload()
        panel = sp.locator("#upnext")
        expect(panel.get_by_text("Appel de suivi").first).to_be_visible()
        expect(panel.get_by_role("link", name="Appeler le +33612345678")).to_be_visible()
        panel.get_by_text("Enregistrer l'appel", exact=True).click()
        panel.get_by_label("Connecté").check()
        panel.get_by_label("Notes (facultatif)").fill("Souhaite une démo mardi prochain.")
        panel.get_by_role("button", name="Enregistrer l'appel et terminer").click()
        panel = sp.locator("#upnext")
        expect(panel.locator(".un-ended")).to_contain_text("Séquence terminée")
        with app.app_context(), tenant_context(tenant.id):
            enrollment = db.session.execute(
                select(Enrollment).where(Enrollment.record_id == wendy)).scalar_one()
            assert enrollment.status == "completed"
    finally:
        with app.app_context():
            clock.set_offset(0)
        seller.close()
