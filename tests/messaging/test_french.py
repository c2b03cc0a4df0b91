"""Settings > Messaging, the suppression list and the template pages in French (issue 19): for a
user whose language is French, and for a browser that asks for French."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from saas.auth.models import Role, User
from saas.extensions import db
from saas.messaging.suppression import suppress
from saas.tenancy import tenant_context

NNBSP = "\u202f"  # Babel's French thousands separator
NBSP = "\u00a0"


@pytest.fixture
def french_admin(app, make_tenant, make_user):
    tenant = make_tenant("salon", name="Salon Pro")
    user = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR, Role.SEQUENCE_MANAGER],
                     name="Ada Admin", email="ada@salon.example")
    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(update(User).where(User.id == user.id).values(language="fr"))
        db.session.commit()
    return user


@pytest.fixture
def fr(client, french_admin, login):
    assert login(client, french_admin).status_code == 302
    return client


def test_messaging_settings_in_french(fr):
    page = fr.get("/salon/settings/messaging").get_data(as_text=True)
    assert "<h1>Messagerie</h1>" in page
    assert "Les e-mails partent par <strong>la boîte d’envoi</strong>" in page
    assert "Enregistrer les paramètres de messagerie" in page
    assert "Envoyer un message de test" in page
    assert "Laissez vide pour envoyer un e-mail de test à ada@salon.example." in page
    assert "Save messaging settings" not in page and "Send a test message" not in page

    bad = fr.post("/salon/settings/messaging", data={"from_address": "not an address",
                                                     "twilio_sid": "XX1"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Saisissez une adresse e-mail, par exemple sales@example.com." in text
    assert "Un SID de compte commence par AC et compte 34 caractères." in text

    saved = fr.post("/salon/settings/messaging", data={"from_name": "Salon"},
                    follow_redirects=True)
    assert "Paramètres de messagerie enregistrés." in saved.get_data(as_text=True)


def test_test_message_results_in_french(fr):
    sent = fr.post("/salon/settings/messaging/test", follow_redirects=True)
    assert ("Message de test à ada@salon.example déposé dans la boîte d’envoi (aucun "
            "fournisseur n’est configuré).") in sent.get_data(as_text=True)
    bad = fr.post("/salon/settings/messaging/test", data={"phone": "0612"},
                  follow_redirects=True).get_data(as_text=True)
    assert f"«{NBSP}0612{NBSP}»{NBSP}: saisissez le numéro au format international" in bad


def test_suppression_list_in_french(app, fr, french_admin):
    empty = fr.get("/salon/settings/messaging/suppressions").get_data(as_text=True)
    assert "La liste est vide." in empty and "The list is empty" not in empty
    added = fr.post("/salon/settings/messaging/suppressions",
                    data={"address": "lea@example.com"}, follow_redirects=True)
    assert ("lea@example.com est dans la liste de suppression" in
            added.get_data(as_text=True))
    again = fr.post("/salon/settings/messaging/suppressions", data={"address": "lea@example.com"})
    assert "lea@example.com est déjà dans la liste." in again.get_data(as_text=True)
    with app.app_context(), tenant_context(french_admin.tenant.id):
        suppress("paul@example.com", "email", "unsubscribe")
        db.session.commit()
    listed = fr.get("/salon/settings/messaging/suppressions").get_data(as_text=True)
    assert "Ajoutée par un administrateur" in listed and "Désabonnement du destinataire" in listed
    assert "Added by an administrator" not in listed


def _sms(fr, body, name="Rappel", language="fr"):
    response = fr.post("/salon/templates/new?kind=sms",
                       data={"name": name, "language": language, "body": body})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_template_pages_in_french(fr):
    empty = fr.get("/salon/templates").get_data(as_text=True)
    assert "Aucun modèle pour l’instant." in empty and "No templates yet" not in empty
    one = fr.get(_sms(fr, "a" * 160)).get_data(as_text=True)
    assert "160 caractères · 1 partie SMS · GSM-7 (160 par partie)" in one
    two = fr.get(_sms(fr, "a" * 161, name="Long")).get_data(as_text=True)
    assert "161 caractères · 2 parties SMS · GSM-7 (153 par partie)" in two
    many = fr.get(_sms(fr, "a" * 1234, name="Très long")).get_data(as_text=True)
    assert f"1{NNBSP}234 caractères · 9 parties SMS" in many
    assert "Champs de fusion" in many and "Merge fields" not in many

    listed = fr.get("/salon/templates").get_data(as_text=True)
    assert "Nouveau modèle d’e-mail" in listed and "Objet ou message" in listed
    assert "New email template" not in listed


def test_template_validation_in_french(fr):
    response = fr.post("/salon/templates/new?kind=email", data={
        "name": "Salon", "language": "fr", "subject": "",
        "html_body": "<p>Bonjour</p>\n<p>{{ record.surnom }}</p>"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Un e-mail a besoin d’un objet." in page
    assert f"Ligne 2{NBSP}: champ inconnu «{NBSP}record.surnom{NBSP}»" in page
    assert "unknown field" not in page
    heavy = fr.post("/salon/templates/new?kind=email", data={
        "name": "Boucles", "language": "fr", "subject": "Boucles",
        "html_body": "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}"
                     "{% endfor %}"})
    assert heavy.status_code == 422
    assert f"plus de 10{NNBSP}000 fois dans un même message" in heavy.get_data(as_text=True)


def test_versions_and_deletion_in_french(fr):
    location = _sms(fr, "Hello", language="en", name="Salon intro")
    template_id = location.rsplit("/", 1)[1]
    page = fr.get(location).get_data(as_text=True)
    assert "Ajouter une version en…" in page and "Langues" in page
    fr.post(f"/salon/templates/{template_id}/versions/new",
            data={"language": "fr", "body": "Bonjour"})
    one = fr.get(f"/salon/templates/{template_id}/delete").get_data(as_text=True)
    assert "Sa version en Français est supprimée avec lui." in one
    fr.post(f"/salon/templates/{template_id}/versions/new",
            data={"language": "de", "body": "Hallo"})
    two = fr.get(f"/salon/templates/{template_id}/delete").get_data(as_text=True)
    assert "Ses 2 versions (Français, Deutsch) sont supprimées avec lui." in two
    again = fr.post(f"/salon/templates/{template_id}/versions/new",
                    data={"language": "de", "body": "Hallo"}).get_data(as_text=True)
    assert f"Il existe déjà une version en Deutsch{NBSP}: modifiez-la" in again
    listed = fr.get("/salon/templates").get_data(as_text=True)
    assert "English, Français, Deutsch" in listed


def test_a_browser_asking_for_french_gets_french(client, make_tenant, make_user, login):
    tenant = make_tenant("atelier")
    user = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    login(client, user)
    page = client.get("/atelier/settings/messaging/suppressions",
                      headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert "Liste de suppression" in page and "Suppression list" not in page
