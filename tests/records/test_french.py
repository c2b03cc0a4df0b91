"""The records pages in French (issue 19): the leads list, a record page and the record form,
plural forms of counts, numbers as French writes them, and the record's language (a select
whose first choice is the workspace's language, validated, shown on the record page)."""

import re

import pytest
from sqlalchemy import select, update

from saas.auth.models import Tenant, User
from saas.extensions import db
from saas.records.models import Record
from saas.tenancy import tenant_context

FR = {"Accept-Language": "fr"}
NNBSP = "\u202f"  # French groups thousands with a narrow no-break space


def _create(client, **values):
    data = {"first_name": "Ana", "last_name": "Lima", "lead_source": "Trade show",
            "status": "new", "time_zone": "Europe/Paris", **values}
    response = client.post("/acme/leads/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with client.session_transaction() as session:
        session.pop("_flashes", None)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _record(app, manager, record_id) -> Record:
    with app.app_context(), tenant_context(manager.tenant.id):
        record = db.session.get(Record, record_id)
        db.session.expunge(record)
        return record


def _flashes(client) -> str:
    with client.session_transaction() as session:
        return " ".join(message for __, message in session.get("_flashes", []))


def test_leads_list_in_french(manager_client):
    _create(manager_client)
    page = manager_client.get("/acme/leads", headers=FR).get_data(as_text=True)
    assert '<html lang="fr"' in page or 'lang="fr"' in page
    for french in ("Prospects", "Nouveau prospect", "Rechercher", "Source de prospect",
                   "Salon commercial", "Plus de filtres", "Trier par", "Plus récents d’abord",
                   "Choisissez un champ…", "Égal à", "Propriétaire", "Langue",
                   "Nouveau"):
        assert french in page, french
    for english in ("New lead", "Lead source", "Newest first", "More filters", "Sort by",
                    "Trade show</td>", "Choose a field"):
        assert english not in page, english


def test_empty_list_in_french(manager_client):
    page = manager_client.get("/acme/leads", headers=FR).get_data(as_text=True)
    assert "Aucun prospect pour l’instant." in page
    assert "importez un fichier CSV</a>" in page
    assert "No leads yet" not in page
    filtered = manager_client.get("/acme/leads?q=zzz", headers=FR).get_data(as_text=True)
    assert "Aucun prospect ne correspond à ces filtres." in filtered


def test_count_in_french_groups_thousands(app, manager, manager_client, monkeypatch):
    from saas.records import queries

    monkeypatch.setattr(queries, "count_capped", lambda query: 1234)
    french = manager_client.get("/acme/leads/count", headers=FR).get_data(as_text=True)
    assert f"1{NNBSP}234" in french
    english = manager_client.get("/acme/leads/count").get_data(as_text=True)
    assert "1,234" in english
    monkeypatch.setattr(queries, "count_capped", lambda query: queries.COUNT_CAP + 1)
    capped = manager_client.get("/acme/leads/count", headers=FR).get_data(as_text=True)
    assert f"10{NNBSP}000+" in capped


def test_record_page_in_french(app, manager, manager_client):
    record_id = _create(manager_client, country="FR", email="ana@fab.example")
    page = manager_client.get(f"/acme/records/{record_id}", headers=FR).get_data(as_text=True)
    for french in ("Détails", "Prénom", "Nom", "Société", "E-mail", "Source de prospect",
                   "Salon commercial", "Statut", "Nouveau", "Pays", "France", "Fuseau horaire",
                   "Langue", "Langue de l’espace de travail (anglais)", "Modifier", "Supprimer"):
        assert french in page, french
    assert "Supprimer Ana Lima\u00a0? Cette action est irréversible." in page
    for english in ("Details", "First name", "Lead source", "Workspace language", ">Edit<"):
        assert english not in page, english


def test_record_form_in_french_with_the_language_select(manager_client):
    page = manager_client.get("/acme/leads/new", headers=FR).get_data(as_text=True)
    assert "<h1>Nouveau prospect</h1>" in page
    assert "Créer le prospect" in page and "Annuler" in page
    select_html = re.search(r'<select id="field-language" name="language".*?</select>', page,
                            re.S).group(0)
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_html)
    assert options[0] == ("", "Langue de l’espace de travail (anglais)")
    names = dict(options[1:])
    assert names["fr"] == "français" and names["de"] == "allemand" and names["en"] == "anglais"
    assert len(options) == 13  # the workspace's language, then the templates' 12 languages
    english = manager_client.get("/acme/leads/new").get_data(as_text=True)
    assert '<option value="">Workspace language (English)</option>' in english
    assert '<option value="fr" >French</option>' in english


def test_language_is_saved_shown_and_validated(app, manager, manager_client):
    record_id = _create(manager_client, language="fr")
    assert _record(app, manager, record_id).language == "fr"
    page = manager_client.get(f"/acme/records/{record_id}", headers=FR).get_data(as_text=True)
    assert "<dd>français" in page
    english = manager_client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert "<dd>French" in english

    edit = manager_client.get(f"/acme/records/{record_id}/edit").get_data(as_text=True)
    assert '<option value="fr" selected>French</option>' in edit

    refused = manager_client.post(f"/acme/records/{record_id}/edit", headers=FR, data={
        "first_name": "Ana", "last_name": "Lima", "status": "new", "time_zone": "UTC",
        "language": "klingon"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "«\u00a0klingon\u00a0» n’est pas une langue" in html
    assert _record(app, manager, record_id).language == "fr"

    cleared = manager_client.post(f"/acme/records/{record_id}/edit", data={
        "first_name": "Ana", "last_name": "Lima", "status": "new", "time_zone": "UTC",
        "language": ""})
    assert cleared.status_code == 302
    assert _record(app, manager, record_id).language is None


def test_workspace_language_named_in_the_viewers_language(app, manager, manager_client):
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == manager.tenant.id)
                           .values(language="fr"))
        db.session.commit()
    record_id = _create(manager_client)
    # The workspace speaks French: pages without a user's or browser's choice do too.
    assert "Langue de l’espace de travail (français)" in manager_client.get(
        f"/acme/records/{record_id}").get_data(as_text=True)
    page = manager_client.get(f"/acme/records/{record_id}",
                              headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Workspace language (French)" in page
    french = manager_client.get(f"/acme/records/{record_id}", headers=FR).get_data(as_text=True)
    assert "Langue de l’espace de travail (français)" in french


def test_list_filters_on_language(app, manager, manager_client):
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == manager.tenant.id)
                           .values(language="fr"))
        db.session.commit()
    _create(manager_client, first_name="Fleur", language="fr")
    _create(manager_client, first_name="Hans", email="h@x.example", language="de")
    _create(manager_client, first_name="Nina", email="n@x.example")  # the workspace's: French
    page = manager_client.get("/acme/leads?language=fr").get_data(as_text=True)
    assert "Fleur Lima" in page and "Nina Lima" in page and "Hans Lima" not in page
    page = manager_client.get("/acme/leads?f=language&op=equals&v=de").get_data(as_text=True)
    assert "Hans Lima" in page and "Fleur Lima" not in page
    bad = manager_client.get("/acme/leads?f=language&op=equals&v=xx", headers=FR)
    assert bad.status_code == 200
    assert "Langue\u00a0: «\u00a0xx\u00a0» ne fait pas partie de ces valeurs" in bad.get_data(
        as_text=True)


@pytest.mark.parametrize("count, french", [(1, "Le propriétaire de 1 enregistrement est changé."),
                                           (2, "Le propriétaire de 2 enregistrements est changé.")])
def test_bulk_messages_have_plural_forms(app, manager, manager_client, count, french):
    ids = [_create(manager_client, first_name=f"P{n}", email=f"p{n}@x.example")
           for n in range(count)]
    with app.app_context(), tenant_context(manager.tenant.id):
        db.session.execute(update(User).where(User.id == manager.id).values(language="fr"))
        db.session.commit()
    response = manager_client.post("/acme/leads/bulk", data={
        "ids": ids, "action": "owner", "owner_id": str(manager.id)})
    assert response.status_code == 302
    assert french in _flashes(manager_client)
    response = manager_client.post("/acme/leads/bulk", data={"ids": ids, "action": "delete"})
    deleted = "1 enregistrement supprimé." if count == 1 else "2 enregistrements supprimés."
    assert deleted in _flashes(manager_client)
    with app.app_context(), tenant_context(manager.tenant.id):
        assert not db.session.execute(select(Record.id)).first()


def test_english_bulk_messages_keep_their_words(app, manager, manager_client):
    ids = [_create(manager_client, first_name=f"P{n}", email=f"p{n}@x.example") for n in (1, 2)]
    manager_client.post("/acme/leads/bulk", data={"ids": ids[:1], "action": "owner",
                                                  "owner_id": str(manager.id)})
    assert "The owner of one record is changed." in _flashes(manager_client)
    manager_client.post("/acme/leads/bulk", data={"ids": ids, "action": "delete"})
    assert "2 records deleted." in _flashes(manager_client)


def test_an_opportunity_stage_close_reads_as_a_stage_not_a_button(app):
    """One English word, two meanings: the stage "Close" is « Conclure », the button « Fermer »."""
    from saas.i18n import _, speaking
    from saas.records.fields import CHOICE_LABELS

    with app.test_request_context("/"), speaking("fr"):
        assert str(CHOICE_LABELS["close"]) == "Conclure"
        assert _("Close") == "Fermer"
