"""The worklist and Up next in French: filters, due wording, row actions, the composer, the call
panel, completed and upcoming steps, and the messages after each action."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

from sqlalchemy import update

from saas.engine import clock
from saas.engine.models import StepRun
from tests.worklist import factories as f

FR = {"Accept-Language": "fr"}
HX = {"HX-Request": "true", "Accept-Language": "fr"}
NB = "\u00a0"  # the no-break space before « : » in our French


def _page(response) -> str:
    """The answer's HTML with entities decoded (autoescape writes ' as &#39;)."""
    return html_lib.unescape(response.get_data(as_text=True))


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _connect(world, steps, *, settings=None, name="Suivi du salon commercial", **values):
    with world.data():
        seq = f.sequence(steps, name=name, settings=settings)
        record = f.lead(**values)
        enrollment = f.connect(record, seq, world.seller.id)
        run = f.current_run(enrollment.id)
        return record.id, enrollment.id, run.id if run else None


def test_the_worklist_speaks_french_with_overdue_wording_and_row_actions(world):
    _, enrollment_id, _ = _connect(world, [{"type": "task", "name": "Préparer le rendez-vous"},
                                           {"type": "task", "name": "Relancer"}],
                                   first_name="Nina", last_name="Dupont")
    with world.data() as session:
        session.execute(update(StepRun).where(StepRun.enrollment_id == enrollment_id)
                        .values(due_at=clock.now() - timedelta(days=3, minutes=5)))
    client = world.client_for(world.seller)
    html = _page(client.get("/acme/worklist", headers=FR))
    assert "Ma liste de travail" in html and "My worklist" not in html
    assert "en retard de 3\u00a0jours" in html or "en retard de 3 jours" in html
    assert "overdue" not in _text(html.split('id="worklist"', 1)[1])
    for french in ("En retard", "Pour aujourd'hui", "À venir", "Reportées", "Trier par",
                   "Marquer comme terminée", "Ignorer l'activité", "Reporter", "Motif (facultatif)",
                   "Enregistrement", "Activité", "Séquence", "Échéance", "Appliquer", "Tâche"):
        assert french in html, french
    for english in ("Mark complete", "Skip activity", "Due today", "Sort by", "Apply"):
        assert f">{english}<" not in html, english

    counts = _page(client.get("/acme/worklist/counts", headers=FR))
    assert re.search(r'data-when="overdue"[^>]*>En retard <span class="wl-count">1<', counts)

    empty = _page(client.get("/acme/worklist?q=personne", headers=FR))
    assert "Aucune activité ne correspond à ces filtres." in empty


def test_up_next_in_french_a_completed_call_says_so_in_french(world):
    steps = [{"type": "call", "name": "Appel de suivi"},
             {"type": "wait", "name": "Attendre", "config": {"days": 2, "hours": 1}},
             {"type": "task", "name": "Envoyer la proposition"}]
    record_id, _, run_id = _connect(world, steps, phone="+33600000001",
                                    settings={"allow_skip_wait": True})
    client = world.client_for(world.seller)
    html = _page(client.get(f"/acme/records/{record_id}", headers=FR))
    panel = html.split('id="upnext"', 1)[1].split("</aside>", 1)[0]
    assert ">Suivant</h2>" in panel and ">Up next<" not in panel
    assert "Enregistrer l'appel" in panel and "Appeler le +33600000001" in panel
    for outcome in ("Connecté", "Message vocal laissé", "Pas de réponse", "Mauvais numéro"):
        assert outcome in panel
    assert "À venir" in panel and "2 jours 1 heure" in panel
    assert "Actif" in panel and "Appel téléphonique" in panel

    missing = _page(client.post(f"/acme/activities/{run_id}/call", headers=HX,
                                data={"from": "record"}))
    assert "Indiquez comment s'est passé l'appel." in missing

    answer = _page(client.post(f"/acme/activities/{run_id}/call", headers=HX,
                         data={"from": "record", "outcome": "connected"}))
    panel = answer
    assert (f"Appel enregistré{NB}: Connecté. L'enregistrement passe à son étape suivante."
            in panel)
    assert "Call logged" not in panel and "moves on" not in panel
    assert "Ignorer le temps d'attente" in panel and "Skip wait time" not in panel
    assert f"Attente de 2 jours 1 heure{NB}: passe à la suite le" in panel
    done = panel.split('class="un-subhead">Terminé</h4>', 1)[1]
    assert "Appel de suivi" in done and "Connecté" in done and "par Sam Seller" in done

    wait_run = re.search(r'/activities/(\d+)/skip-wait', panel).group(1)
    skipped = _page(client.post(f"/acme/activities/{wait_run}/skip-wait", headers=HX,
                          data={"from": "record"}))
    assert "Le temps d'attente est ignoré. L'enregistrement passe à son étape suivante." in skipped


def test_up_next_composer_and_the_end_of_a_sequence_in_french(world):
    with world.data():
        template_id = f.email_template(name="Intro", subject="Bonjour {{ record.first_name }}",
                                       html="<p>Merci {{ record.first_name }}.</p>").id
    record_id, _, run_id = _connect(world, [{"type": "email", "name": "E-mail d'introduction",
                                             "config": {"template_id": template_id}}],
                                    first_name="Nina", email="nina@globex.example")
    client = world.client_for(world.seller)
    html = _page(client.get(f"/acme/records/{record_id}", headers=FR))
    panel = html.split('id="upnext"', 1)[1].split("</aside>", 1)[0]
    assert f"À{NB}: <strong>nina@globex.example</strong>" in panel
    assert "Ouvrir l'éditeur" in panel and "Objet" in panel and "Envoyer l'e-mail" in panel
    assert "modèle «\u00a0Intro\u00a0»" in panel

    no_subject = _page(client.post(f"/acme/activities/{run_id}/send", headers=HX,
                             data={"from": "record", "subject": " ", "body": "Bonjour"}))
    assert "Donnez un objet à l'e-mail." in no_subject

    sent = _page(client.post(f"/acme/activities/{run_id}/send", headers=HX,
                       data={"from": "record", "subject": "Bonjour", "body": "Merci."}))
    text = sent
    assert (f"Envoyé. C'était la dernière étape{NB}: la séquence est terminée pour cet "
            "enregistrement.") in text
    assert "Séquence terminée le" in text and "Terminé" in text

    again = _page(client.post(f"/acme/activities/{run_id}/complete", headers=HX,
                        data={"from": "record"}))
    assert f"Cette activité a déjà été effectuée{NB}: rien n'a changé." in again


def test_english_stays_english(world):
    record_id, _, run_id = _connect(world, [{"type": "call", "name": "Call"},
                                            {"type": "task", "name": "Next"}])
    client = world.client_for(world.seller)
    answer = _page(client.post(f"/acme/activities/{run_id}/call", headers={"HX-Request": "true"},
                         data={"from": "record", "outcome": "connected"}))
    assert "Call logged: Connected. The record moves on to its next step." in \
        answer
