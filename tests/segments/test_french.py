"""Segments in French (issue 19): the editor (labels, operators as Dynamics names them, the
values of a choice field), the list's summaries of the rules, flashes with plural forms, the
assignment page; and rules on the record's language, whose empty value is the workspace's."""

import re

import pytest
from sqlalchemy import select, update

from saas.auth.models import Role, Tenant, User
from saas.extensions import db
from saas.segments.models import SegmentMember
from saas.tenancy import tenant_context

FR = {"Accept-Language": "fr"}
N = "\u00a0"
NNBSP = "\u202f"


@pytest.fixture
def manager(make_tenant, make_user):
    tenant = make_tenant("acme", name="Acme")
    return make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@acme.example")


@pytest.fixture
def mclient(client, manager, login):
    login(client, manager)
    return client


def _french_user(app, manager):
    with app.app_context(), tenant_context(manager.tenant.id):
        db.session.execute(update(User).where(User.id == manager.id).values(language="fr"))
        db.session.commit()


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for __, message in session.pop("_flashes", [])]


def _members(app, manager, segment_id) -> set[int]:
    with app.app_context(), tenant_context(manager.tenant.id):
        return set(db.session.execute(select(SegmentMember.record_id).where(
            SegmentMember.segment_id == segment_id)).scalars())


def _save(client, name, field, operator, value, **headers):
    response = client.post("/acme/segments/new", headers=headers, data={
        "name": name, "record_type": "lead", "priority": "0", "description": "",
        "g-r-op": "and", "c-r.0-field": field, "c-r.0-operator": operator,
        "c-r.0-value": value, "action": "save"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_segment_editor_in_french(mclient):
    page = mclient.get("/acme/segments/new", headers=FR).get_data(as_text=True)
    for french in ("Nouveau segment", "Définition du segment", "Type d'enregistrement",
                   "Priorité", "Choisissez un champ…", "Source de prospect", "Langue",
                   "Égal à", "Différent de", "Est l’un des", "Ne contient pas de données",
                   "+ Ajouter une ligne", "+ Ajouter un groupe", "Simuler les résultats",
                   "toutes (Et)", "l’une (Ou)", "Enregistrer"):
        assert french in page, french
    for english in ("New segment", "Segment definition", "Choose a field", "Simulate results",
                    "all of (And)", ">equals<", "+ Add row"):
        assert english not in page, english


def test_a_choice_field_offers_its_values_in_french(mclient):
    page = mclient.post("/acme/segments/new", headers=FR, data={
        "name": "", "record_type": "lead", "priority": "0", "g-r-op": "and",
        "c-r.0-field": "lead_source", "c-r.0-operator": "equals", "c-r.0-value": "",
        "c-r.1-field": "language", "c-r.1-operator": "equals", "c-r.1-value": "",
        "action": "add-row:r"}).get_data(as_text=True)
    assert '<option value="Trade show" >Salon commercial</option>' in page
    assert '<option value="fr" >français</option>' in page
    assert '<option value="de" >allemand</option>' in page


def test_a_rule_on_language_counts_the_workspace_language(app, mclient, manager, add_records):
    tenant = manager.tenant
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(language="fr"))
        db.session.commit()
    ids = add_records(tenant, 4, language=lambda i: ["fr", None, "de", "en"][i])
    french = _save(mclient, "Francophones", "language", "equals", "fr")
    mclient.post(f"/acme/segments/{french}/activate")
    assert _members(app, manager, french) == {ids[0], ids[1]}  # NULL: the workspace's, French
    others = _save(mclient, "Others", "language", "in_list", "de, EN")
    mclient.post(f"/acme/segments/{others}/activate")
    assert _members(app, manager, others) == {ids[2], ids[3]}

    # A record's language changed by the form moves it between segments at once.
    mclient.post(f"/acme/records/{ids[1]}/edit", data={
        "first_name": "First1", "last_name": "Last0001", "status": "new", "time_zone": "UTC",
        "language": "en"})
    assert _members(app, manager, french) == {ids[0]}
    assert _members(app, manager, others) == {ids[1], ids[2], ids[3]}

    # Not a language of the list: refused next to the row, nothing saved.
    response = mclient.post("/acme/segments/new", headers=FR, data={
        "name": "Bad", "record_type": "lead", "priority": "0", "g-r-op": "and",
        "c-r.0-field": "language", "c-r.0-operator": "equals", "c-r.0-value": "xx",
        "action": "save"})
    assert response.status_code == 422
    assert f"Langue{N}: «{N}xx{N}» ne fait pas partie de ces valeurs{N}: anglais, français" \
        in response.get_data(as_text=True)


def test_the_segment_list_and_flashes_in_french(app, mclient, manager, add_records):
    _french_user(app, manager)
    add_records(manager.tenant, 1, lead_source="Trade show")
    one = _save(mclient, "Prospects du salon commercial", "lead_source", "equals", "Trade show")
    assert _flashes(mclient) == [f"Le segment «{N}Prospects du salon commercial{N}» est "
                                 "enregistré."]
    mclient.post(f"/acme/segments/{one}/activate")
    assert _flashes(mclient) == [f"«{N}Prospects du salon commercial{N}» est actif{N}: "
                                 "1 enregistrement est membre."]
    add_records(manager.tenant, 1233, lead_source="Web", email=lambda i: f"web{i}@x.example")
    many = _save(mclient, "Web", "lead_source", "in_list", "Web, Referral")
    _flashes(mclient)
    mclient.post(f"/acme/segments/{many}/activate")
    assert _flashes(mclient) == [f"«{N}Web{N}» est actif{N}: 1{NNBSP}233 enregistrements sont "
                                 "membres."]
    page = mclient.get(f"/acme/segments/{many}").get_data(as_text=True)
    assert f"1{NNBSP}233 membres, tenus à jour" in page and ">Actif<" in page

    page = mclient.get("/acme/segments").get_data(as_text=True)
    assert "Source de prospect égal à Salon commercial" in page
    assert "Source de prospect est l’un des Web, Recommandation" in page
    assert f"1{NNBSP}233" in page and "Prospects" in page
    assert "Lead source equals" not in page


def test_english_summaries_keep_their_words(mclient):
    _save(mclient, "Both", "lead_source", "in_list", "Web,Referral")
    page = mclient.get("/acme/segments").get_data(as_text=True)
    assert "Lead source is one of Web, Referral" in page


def test_the_assignment_page_in_french(app, mclient, manager, make_user):
    make_user(manager.tenant, roles=[Role.SELLER], name="Sam Seller")
    segment_id = _save(mclient, "Salon", "lead_source", "equals", "Trade show")
    page = mclient.get(f"/acme/segments/{segment_id}/assignment",
                       headers=FR).get_data(as_text=True)
    for french in ("Règles d’attribution · Salon", "Ajouter une règle", "Attribuer à",
                   "Tout vendeur disponible", "Tourniquet", "Répartition",
                   "Ce segment est un brouillon", "Aucune règle pour l’instant"):
        assert french in page, french
    response = mclient.post(f"/acme/segments/{segment_id}/assignment", headers=FR, data={
        "name": "", "target": "any", "distribution": "round_robin",
        "conditions-0-field": "language", "conditions-0-operator": "equals",
        "conditions-0-value": "zz"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Donnez un nom à la règle." in html
    assert re.search(f"Langue{N}: «{N}zz{N}» ne fait pas partie", html)
