"""The engine's pages and messages in French: the Connected records tab (counts in the singular
and the plural, filters, bulk actions and their answers), the record page's Sequences block, and
the reasons stored on step runs, kept language-neutral and shown in the viewer's language."""

from __future__ import annotations

import html as html_lib
import inspect
import re

from sqlalchemy import select, update

from saas.engine import reasons, sends, uncertain
from saas.engine.connect import connect_many
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.i18n import speaking
from saas.sequences.models import Step
from tests.engine.factories import build_sequence

FR = {"Accept-Language": "fr"}
NB = "\u00a0"
TASK = {"type": "task", "name": "Préparer l'appel"}


def _page(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _sequence(world, owned: int, unowned: int, add_records, name="Suivi du salon commercial"):
    records = world.add(owned) if owned else []
    if unowned:
        records += add_records(world.tenant, unowned, owner_id=None,
                               email=lambda i: f"sans{i}@example.com")
    with world.inside():
        seq = build_sequence([TASK, {"type": "task", "name": "Relancer"}], name=name)
        connect_many(records, seq.lineage_id)
        db.session.commit()
        return seq.id, records


def test_the_connected_records_tab_in_french_one_waiting(world, login, client, add_records):
    seq_id, _ = _sequence(world, 2, 1, add_records)
    login(client, world.manager)
    html = _page(client.get(f"/acme/sequences/{seq_id}/connected", headers=FR))
    assert "1 enregistrement connecté attend un vendeur." in html
    assert "L'afficher et lui affecter un vendeur" in html
    assert "connected record waits" not in html and "Show it" not in html
    for french in ("Enregistrements connectés", "Segments connectés", "Tous (3)", "Actif (3)",
                   "En attente d’un vendeur (1)", "Envois incertains (0)", "Suspendre",
                   "Déconnecter", "Affecter un vendeur…", "Appliquer à la sélection",
                   "Trouver un enregistrement", "Étape actuelle", "Vendeur", "Actif"):
        assert french in html, french
    assert "Aucun segment connecté." in html
    assert ">Pause<" not in html and "Connected segments" not in html


def test_the_connected_records_tab_in_french_several_waiting_and_bulk_answers(
        world, login, client, add_records):
    seq_id, records = _sequence(world, 1, 2, add_records)
    login(client, world.manager)
    html = _page(client.get(f"/acme/sequences/{seq_id}/connected", headers=FR))
    assert "2 enregistrements connectés attendent un vendeur." in html
    assert "Les afficher et leur affecter un vendeur" in html
    with world.inside():
        ids = db.session.execute(select(Enrollment.id).order_by(Enrollment.id)).scalars().all()
    paused = _page(client.post(f"/acme/sequences/{seq_id}/connected/bulk", headers=FR,
                               data={"action": "pause", "ids": ids}, follow_redirects=True))
    assert "3 enregistrements suspendus." in paused and "Suspendu (3)" in paused
    one = _page(client.post(f"/acme/sequences/{seq_id}/connected/bulk", headers=FR,
                            data={"action": "resume", "ids": ids[:1]}, follow_redirects=True))
    assert "1 enregistrement repris." in one
    rest = _page(client.post(f"/acme/sequences/{seq_id}/connected/bulk", headers=FR,
                             data={"action": "resume", "ids": ids}, follow_redirects=True))
    assert "2 enregistrements repris." in rest
    none = _page(client.post(f"/acme/sequences/{seq_id}/connected/bulk", headers=FR,
                             data={"action": "assign", "ids": ids[:1],
                                   "seller_id": world.seller.id}, follow_redirects=True))
    assert (f"Rien n'a changé{NB}: aucun des enregistrements sélectionnés n'attendait de "
            "vendeur.") in none
    assigned = _page(client.post(f"/acme/sequences/{seq_id}/connected/bulk", headers=FR,
                                 data={"action": "assign", "ids": ids,
                                       "seller_id": world.seller.id}, follow_redirects=True))
    assert (f"Sam Seller affecté à 2 enregistrements{NB}; leurs séquences ont démarré. "
            f"1 autre enregistrement sélectionné n'attendait pas de vendeur{NB}: il reste "
            "inchangé.") in assigned


def test_the_record_page_sequences_block_and_a_failed_send_reason_in_french(
        world, login, client, add_records):
    seq_id, (record_id, *_) = _sequence(world, 1, 0, add_records)
    with world.inside():
        stored = reasons.stored(reasons.SUPPRESSED, address="lea@example.com", reason="bounce")
        db.session.execute(update(StepRun).values(
            status="failed", step_type="auto_email", error=reasons.GAVE_UP % {
                "attempts": 6, "reason": reasons.PROVIDER_REFUSED}))
        run = db.session.execute(select(StepRun)).scalar_one()
        second = db.session.execute(select(Step.id).where(
            Step.sequence_id == run.sequence_id, Step.id != run.step_id)).scalar_one()
        db.session.add(StepRun(
            enrollment_id=run.enrollment_id, sequence_id=run.sequence_id, step_id=second,
            record_id=run.record_id, seller_id=run.seller_id, step_type="auto_email",
            status="skipped", error=stored, due_at=run.due_at))
        db.session.commit()
    login(client, world.seller)
    html = _page(client.get(f"/acme/records/{record_id}", headers=FR))
    block = html.split('id="record-sequences"', 1)[1].split("</section>", 1)[0]
    assert "Séquences" in block and "Actif" in block and "Suspendre" in block
    assert "0 étape terminée" in block and "jour 1" in block
    panel = html.split('id="upnext"', 1)[1].split("</aside>", 1)[0]
    assert (f"Abandon après 6 tentatives{NB}; dernière{NB}: Le fournisseur a refusé le "
            "message.") in panel
    assert f"lea@example.com figure dans la liste de suppression (rebond){NB}: non envoyé." \
        in panel
    assert "Gave up" not in panel and "suppression list" not in panel
    assert "Échec" in panel and "Ignoré" in panel and "automatiquement" in panel
    with world.inside():  # what is stored stays English
        errors = db.session.execute(select(StepRun.error).order_by(StepRun.id)).scalars().all()
    assert errors == ["Gave up after 6 attempts; last: The provider refused the message.",
                      "lea@example.com is on the suppression list (bounce): not sent."]
    english = _page(client.get(f"/acme/records/{record_id}"))
    assert "Gave up after 6 attempts; last: The provider refused the message." in english
    assert "lea@example.com is on the suppression list (bounce): not sent." in english


def test_stored_reasons_translate_when_shown(app):
    with app.test_request_context(), speaking("fr"):
        assert reasons.reason_text("") == ""
        assert reasons.reason_text("Timeout talking to SendGrid") == \
            "Timeout talking to SendGrid"  # a provider's own text stays as it came
        assert reasons.reason_text(reasons.CONNECTION_ENDED) == \
            "La connexion a pris fin avant l'envoi du message."
        assert reasons.reason_text("Gave up after 1 attempts; last: boom") == \
            f"Abandon après 1 tentative{NB}; dernière{NB}: boom"
        assert reasons.reason_text(
            "Uncertain send (attempt 2): read timeout. No provider event within the window: "
            "sending again.") == (f"Envoi incertain (tentative 2){NB}: read timeout. Aucun "
                                  f"événement du fournisseur dans le délai{NB}: nouvel envoi.")
        assert reasons.reason_text("Attempt 3 not accepted (429); retrying.") == \
            f"Tentative 3 non acceptée (429){NB}; nouvelle tentative."
        composer = reasons.reason_text("“Intro” is not an email template.")
        assert "Intro" in composer and "modèle" in composer  # the composer's own msgid
        assert reasons.exit_reason_label("record_deleted") == "enregistrement supprimé"
        assert reasons.status_label("paused") == "Suspendu"
    with app.test_request_context():
        assert reasons.reason_text(reasons.RATE_LIMITED) == reasons.RATE_LIMITED
        assert reasons.exit_reason_label("record_deleted") == "record deleted"


def test_the_engine_stores_the_reasons_it_shows():
    """The sentences sends.py and uncertain.py write are the msgids reasons.py translates;
    resends.py writes its own by name (reasons.RESEND_*)."""
    from saas.engine import resends

    source = inspect.getsource(sends) + inspect.getsource(uncertain)
    resend_source = inspect.getsource(resends)
    by_name = {value: name for name, value in vars(reasons).items()
               if name.startswith("RESEND_") and isinstance(value, str)}
    assert len(by_name) == 8
    for name in by_name.values():
        assert f"reasons.{name}" in resend_source, name
    for msgid in reasons.CONSTANTS:
        if msgid not in (reasons.MOVE_INTO_ITSELF,) and msgid not in by_name:
            assert msgid in source, msgid
    for msgid in (reasons.SUPPRESSED, reasons.UNCERTAIN_SEND, reasons.NOT_ACCEPTED,
                  reasons.GAVE_UP):
        template = re.sub(r"%\((\w+)\)s", lambda m: "{", msgid).split("{")[0]
        assert template in source, msgid
