"""The sequences area in French (issue 19): the designer and its "Add a step" pane with the
reference documents' names, a step form's validation message, the activation checklist with its
plural, the activation confirmation (« Je comprends »), the list, a built-in template created in
French, and the French demo content of a French workspace (« Suivi du salon commercial »)."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select, update

from saas.auth.models import Tenant
from saas.demo import seed_demo
from saas.extensions import db
from saas.segments.models import Segment
from saas.sequences.models import Sequence, Step
from saas.tenancy import tenant_context

NB = "\u00a0"  # the no-break space French puts before « : ; ? ! » and inside « »


@pytest.fixture
def fr(mc):
    """The manager's browser asks for French (the user has not chosen a language)."""
    mc.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9"
    return mc


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return unescape(response.get_data(as_text=True))


def test_the_add_a_step_pane_speaks_french_with_the_reference_names(designer, fr):
    sid = designer.create("Suivi du salon commercial")
    page = _page(fr, f"/contoso/sequences/{sid}?add=root:main:0")
    assert "Ajouter une étape" in page
    for tab in ("Étapes", "Conditions", "Commandes"):
        assert f">{tab}</a>" in page
    for name in ("Envoyer un e-mail", "E-mail automatisé", "Envoyer un SMS", "SMS automatisé",
                 "Appel téléphonique", "Tâche", "Définir le temps d'attente", "Test A/B"):
        assert f"<strong>{name}</strong>" in page, name
    assert "Le vendeur envoie un e-mail depuis le composeur." in page
    assert "Send an email" not in page and "Set wait time" not in page
    conditions = _page(fr, f"/contoso/sequences/{sid}?add=root:main:0&tab=conditions")
    assert "Condition d'e-mail" in conditions and "Résultat de l'appel téléphonique" in conditions
    commands = _page(fr, f"/contoso/sequences/{sid}?add=root:main:0&tab=commands")
    assert "Mettre à jour un champ" in commands and "Passer à une autre séquence" in commands
    assert "Update a record field" not in commands


def test_the_designer_speaks_french(designer, fr):
    sid = designer.create("Suivi du salon commercial")
    email = designer.add(sid, "email", name="e-mail d'introduction",
                         description="Présenter le prospect à l'équipe commerciale")
    designer.add(sid, "wait", days="0", hours="1")
    designer.add(sid, "call", name="Appel de suivi")
    designer.add(sid, "wait", days="2", hours="0")
    page = _page(fr, f"/contoso/sequences/{sid}")
    for text in ("Concepteur", "Historique des versions", "Brouillon", "Début", "Fin",
                 "Les prospects connectés à la séquence commencent ici", "Attendre 1 heure",
                 "Attendre 2 jours", "Rédigé par le vendeur", "Attention requise", "Activer",
                 "Cloner"):
        assert text in page, text
    # one problem (the branch ends with a wait): the singular
    assert "1 point à corriger avant l'activation (vignettes marquées" in page
    assert "Add a step" not in page and "Version history" not in page
    pane = _page(fr, f"/contoso/sequences/{sid}?step={email}")
    assert "Enregistrer et fermer" in pane and "Modèle d'e-mail (facultatif)" in pane
    assert f"Supprimer «{NB}e-mail d'introduction{NB}»" in pane


def test_a_step_form_refuses_a_bad_wait_in_french(designer, fr):
    sid = designer.create()
    designer.add(sid, "email")
    wait = designer.add(sid, "wait")
    response = designer.save(sid, wait, days="0", hours="0")
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert "Un temps d'attente dure entre 1 heure et 30 jours." in page
    assert f"Cette étape n'a pas été enregistrée{NB}: corrigez les champs signalés ci-dessous." \
        in page
    assert "A wait lasts between" not in page
    response = designer.save(sid, wait, days="bientôt", hours="0")
    assert "Entrez des nombres entiers de jours et d'heures." in unescape(
        response.get_data(as_text=True))


def test_an_automated_email_without_template_is_refused_in_french(designer, fr):
    sid = designer.create()
    step = designer.add(sid, "auto_email")
    page = unescape(designer.save(sid, step, name="Relance", template_id="").get_data(
        as_text=True))
    assert f"Un e-mail automatisé a besoin d'un modèle{NB}: choisissez-en un." in page


def test_the_activation_checklist_speaks_french_with_plurals(designer, fr):
    empty = designer.create("Vide")
    page = _page(fr, f"/contoso/sequences/{empty}/activate")
    assert f"Corrigez 1 problème avant l'activation{NB}:" in page
    assert "Ajoutez au moins une étape." in page

    sid = designer.create("À corriger")
    designer.add(sid, "auto_email")  # no template; named in French when added from a French page
    designer.add(sid, "wait")        # a branch ending with a wait
    page = _page(fr, f"/contoso/sequences/{sid}/activate")
    assert f"Corrigez 2 problèmes avant l'activation{NB}:" in page
    assert f"E-mail automatisé</a>{NB}: Un e-mail automatisé a besoin d'un modèle" in page
    assert "Une branche ne peut pas se terminer par une attente" in page
    assert "Fix 2 problems" not in page


def test_activation_asks_je_comprends(designer, fr):
    sid = designer.create("Suivi du salon commercial")
    designer.add(sid, "email", name="e-mail d'introduction")
    designer.add(sid, "wait", days="0", hours="1")
    designer.add(sid, "call", name="Appel de suivi")
    page = _page(fr, f"/contoso/sequences/{sid}/activate")
    assert "Je comprends" in page and "Une fois activée" in page
    refused = unescape(designer.activate(sid, understood=False).get_data(as_text=True))
    assert f"Cochez «{NB}Je comprends{NB}» pour confirmer l'activation." in refused
    done = fr.post(f"/contoso/sequences/{sid}/activate", data={"understood": "y"},
                   follow_redirects=True)
    page = unescape(done.get_data(as_text=True))
    assert "Cette séquence est activée." in page
    assert f"«{NB}Suivi du salon commercial{NB}» est activée{NB}: la version 1" in page


def test_the_list_and_new_pages_speak_french(designer, fr):
    page = _page(fr, "/contoso/sequences")
    assert "Aucune séquence pour l'instant." in page and "+ Nouvelle séquence" in page
    designer.create("Suivi du salon commercial")
    page = _page(fr, "/contoso/sequences")
    assert "Enregistrements connectés" in page and "Brouillon" in page and "Prospects" in page
    new = _page(fr, "/contoso/sequences/new")
    assert "Démarrer de zéro" in new and "Suivi du salon commercial" in new
    assert "Demande de démonstration" in new and "5 étapes sur la branche principale" in new
    assert "Trade show follow-up" not in new


def test_a_built_in_template_is_created_in_french(designer, fr):
    form = _page(fr, "/contoso/sequences/new/details?start=trade_show")
    assert 'value="Suivi du salon commercial"' in form
    sid = designer.create("Suivi du salon commercial", start="trade_show")
    steps = designer.steps(sid)
    assert [s.name for s in steps if s.parent_id is None][:3] == [
        "e-mail d'introduction", "Temps d'attente", "Appel de suivi"]
    assert "A ouvert l'e-mail d'introduction ?".replace(" ?", NB + "?") in {s.name for s in steps}
    # the stored text is the tenant's from now on: an English page shows it as it is
    del fr.environ_base["HTTP_ACCEPT_LANGUAGE"]
    page = _page(fr, f"/contoso/sequences/{sid}")
    assert "e-mail d'introduction" in page and "Appel de suivi" in page


def test_a_built_in_template_stays_english_for_an_english_page(designer):
    sid = designer.create("Shows", start="trade_show")
    assert [s.name for s in designer.steps(sid) if s.parent_id is None][:3] == [
        "Introductory email", "Wait", "Follow-up call"]


def test_flashes_and_confirmations_speak_french(designer, fr, add_records, app, tenant):
    sid = designer.create("Suivi")
    designer.add(sid, "email", name="Bonjour")
    saved = unescape(fr.post(f"/contoso/sequences/{sid}/save", follow_redirects=True)
                     .get_data(as_text=True))
    assert f"«{NB}Suivi{NB}» est enregistrée. Elle est prête à être activée." in saved
    confirm = _page(fr, f"/contoso/sequences/{sid}/delete")
    assert "Supprimer la séquence" in confirm
    assert "L'unique version de la séquence et son historique sont définitivement supprimés." \
        in confirm


def test_a_french_workspace_gets_the_french_demo(app):
    with app.app_context():
        assert seed_demo("fr") is True
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == "demo")).scalar_one()
        assert tenant.language == "fr" and tenant.name == "Contoso Coffee (démo)"
        with tenant_context(tenant.id):
            sequences = db.session.execute(select(Sequence.name, Sequence.status)
                                           .order_by(Sequence.id)).all()
            segment = db.session.execute(select(Segment)).scalar_one()
            first = db.session.execute(select(Step.name).join(Sequence, Step.sequence_id ==
                                                              Sequence.id)
                                       .where(Sequence.status == "active", Step.parent_id.is_(None))
                                       .order_by(Step.position)).scalars().all()
    assert [tuple(r) for r in sequences] == [("Suivi du salon commercial", "active"),
                                            ("Demande de démonstration", "draft")]
    assert segment.name == "Prospects du salon commercial" and segment.status == "draft"
    assert segment.rules["rules"][0] == {"field": "lead_source", "operator": "equals",
                                         "value": "Trade show"}
    assert first[:3] == ["e-mail d'introduction", "Temps d'attente", "Appel de suivi"]


def test_demo_sequences_follow_the_workspace_language(app, make_tenant):
    from saas.sequences.demo import seed_sequences

    tenant = make_tenant("lyon", name="Café de Lyon")
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(language="fr"))
        db.session.commit()
        with tenant_context(tenant.id):
            made = seed_sequences()
            db.session.commit()
            names = [s.name for s in made]
    assert names == ["Suivi du salon commercial", "Demande de démonstration"]


def _upload(client, raw: bytes):
    from io import BytesIO

    return client.post("/contoso/sequences/import",
                       data={"file": (BytesIO(raw), "sequence.json")},
                       content_type="multipart/form-data")


def test_json_import_errors_speak_french(fr):
    import json

    response = _upload(fr, b"{not json")
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert f"Rien n'a été importé{NB}:" in page and "Le fichier n'est pas un JSON valide" in page
    data = {"format": "saas.sequence", "name": "Salon", "record_type": "lead", "steps": [
        {"type": "wait", "name": "Trop long", "config": {"days": 31, "hours": 0}},
        {"type": "auto_email", "name": "Relance", "config": {
            "template": {"name": "Inconnu", "kind": "email"}}}]}
    page = unescape(_upload(fr, json.dumps(data).encode()).get_data(as_text=True))
    assert (f"Étape «{NB}Relance{NB}»{NB}: il n'existe ici aucun modèle d'e-mail nommé "
            f"«{NB}Inconnu{NB}».") in page
    data["steps"][1]["config"] = {"template": None}
    page = unescape(_upload(fr, json.dumps(data).encode()).get_data(as_text=True))
    assert f"Étape «{NB}Trop long{NB}»{NB}: Un temps d'attente dure entre 1 heure et 30 jours." \
        in page
    assert "A wait lasts" not in page


def test_running_counts_are_french_numbers_and_plurals(designer, fr, monkeypatch):
    from saas.sequences import queries

    sid = designer.create("Suivi du salon commercial")
    monkeypatch.setattr(queries, "running_count", lambda lineage_id: 1234)
    page = _page(fr, f"/contoso/sequences/{sid}/deactivate")
    assert "<strong>1\u202f234 enregistrements y sont en cours et seront déconnectés</strong>" \
        in page
    page = _page(fr, f"/contoso/sequences/{sid}/delete")
    assert f"1\u202f234 enregistrements sont en cours dans «{NB}Suivi du salon commercial{NB}»." \
        in page
    monkeypatch.setattr(queries, "running_count", lambda lineage_id: 1)
    page = _page(fr, f"/contoso/sequences/{sid}/deactivate")
    assert "<strong>1 enregistrement y est en cours et sera déconnecté</strong>" in page
    assert f"1 enregistrement est en cours dans «{NB}Suivi du salon commercial{NB}»." in _page(
        fr, f"/contoso/sequences/{sid}/delete")


def test_an_ab_split_is_written_with_french_percentages(designer, fr):
    """Babel's percent sign (« 70 % », a no-break space) on the tile, in the slider's output and
    its template for the script, in the hint and in the rule's refusal."""
    sid = designer.create()
    step = designer.add(sid, "ab_test")
    form = {"display_name": "Objet", "split_a": "70", "metric": "clicks", "ends": "auto",
            "default_version": "A", "a_type": "email", "a_name": "Court", "b_type": "email",
            "b_name": "Long"}
    designer.save(sid, step, **form)
    page = _page(fr, f"/contoso/sequences/{sid}?step={step}")
    assert f"A 70{NB}% / B 30{NB}% · gagnant selon les clics" in page
    assert f'data-template="A {{a}}{NB}% / B {{b}}{NB}%">A 70{NB}% / B 30{NB}%</output>' in page
    assert f"Chaque version reçoit entre 10{NB}% et 90{NB}% de l'audience." in page
    refused = unescape(designer.save(sid, step, **{**form, "split_a": "95"}).get_data(
        as_text=True))
    assert f"Chaque version reçoit entre 10{NB}% et 90{NB}% de l'audience." in refused
