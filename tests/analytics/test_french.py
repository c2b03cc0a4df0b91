"""The analytics pages in French: labels, French numbers and percentages (« 62,5 % »), the charts'
SVG text, the A/B panel, and the CSV export whose column names stay the same."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from types import SimpleNamespace

from saas.analytics import charts
from saas.auth.models import Role
from saas.engine import abtests
from saas.i18n import speaking
from saas.web.numbers import format_number, format_percent
from tests.analytics.history import ab_config, ab_sends, add_step, make_sequence
from tests.analytics.test_figures import history  # noqa: F401 - the fixture

FR = {"Accept-Language": "fr"}


def _page(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_the_sequence_page_in_french(app, history, client, login):  # noqa: F811
    tenant, user, v1, v2, email, call = history
    login(client, user)
    html = _page(client.get(f"/acme/analytics/sequences/{v2.id}?period=30&version=1",
                            headers=FR))
    with app.test_request_context(), speaking("fr"):
        rate = format_percent(5 / 8)
    assert rate == "62,5\u00a0%" or rate == "62,5\u202f%"
    assert rate in html and "62.5%" not in html
    kpis = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))
    assert kpis == {"Connecté": "15", "Actif": "6", "Suspendu": "0", "Terminé": "4",
                    "Sorti": "3", "Déconnecté": "2", "Objectif atteint": "3",
                    "Jours médians pour terminer": "5,0"}
    assert "rebond\u00a0: <strong>1</strong>" in html
    assert "réponse\u00a0: <strong>2</strong>" in html
    for french in ("Analyses", "Exporter en CSV", "Période", "30 derniers jours",
                   "connectés au cours des 30 derniers jours, toutes versions",
                   "atteintes au cours des 30 derniers jours", "Étapes de la version 1",
                   "Atteintes", "Ignoré", "En retard", "Échec",
                   "Ouvert", "Cliqué", "Désabonné", "Entonnoir des étapes",
                   "Messages envoyés et réponses par jour", "Les chiffres, jour par jour",
                   "Chiffres calculés"):
        assert french in html, french
    for english in ("Funnel of the steps", "Export CSV", "Median days", "Last 30 days",
                    "reached by", "messages sent (bars)"):
        assert english not in html, english
    assert "atteinte par 10, terminée par 8" in html  # the funnel's tooltips


def test_french_numbers_in_the_overview_and_an_empty_sequence(app, within, make_tenant,
                                                             make_user, client, login):
    tenant = make_tenant("acme")
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    with within(tenant):
        sequence = SimpleNamespace(id=make_sequence(name="Suivi du salon commercial").id)
    login(client, user)
    listing = _page(client.get("/acme/analytics", headers=FR))
    assert "Suivi du salon commercial" in listing and "Enregistrements connectés" in listing
    assert "En cours maintenant" in listing and "Running now" not in listing
    html = _page(client.get(f"/acme/analytics/sequences/{sequence.id}", headers=FR))
    assert "Aucun enregistrement n'a jamais été connecté." in html
    assert "Cette version n'a pas encore d'étapes." in html
    with app.test_request_context(), speaking("fr"):
        assert format_number(1234) == "1\u202f234"


def test_the_ab_panel_and_its_chart_in_french(app, within, make_tenant, make_user,
                                              add_records, client, login):
    tenant = make_tenant("acme")
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    ids = add_records(tenant, 700)
    with within(tenant):
        sequence = make_sequence()
        step = add_step(sequence, "ab_test", "Subject test", position=0,
                        config=ab_config(display_name="Objets"))
        abtests.start_tests(sequence.id)
        ab_sends(step, ids, {"A": 9, "B": 55})
        sequence = SimpleNamespace(id=sequence.id)
    login(client, user)
    html = _page(client.get(f"/acme/analytics/sequences/{sequence.id}", headers=FR))
    assert "Tests A/B" in html and "En cours" in html and "Arrêter le test" in html
    assert "taux de clics" in html and "Clics" in html and "Envois" in html
    assert "Taux de clics du test A/B avec intervalles" in html
    assert "Intervalle à 95" in html and "Valeur p toujours valide" in html
    assert "les enregistrements reçoivent la version A ou B selon la répartition" in html
    assert "Stop the test" not in html and "click rate" not in html
    bad = _page(client.post(f"/acme/analytics/ab/{abtests_id(app, within, tenant)}/stop",
                            headers=FR, data={}, follow_redirects=True))
    assert "Choisissez la version à envoyer désormais." in bad


def abtests_id(app, within, tenant) -> int:
    from saas.engine.models import AbTest
    from saas.extensions import db

    with within(tenant):
        return db.session.query(AbTest.id).scalar()


def test_the_charts_draw_french_text(app):
    with app.test_request_context(), speaking("fr"):
        svg = charts.ab_rates([("A", 0.1, 0.07, 0.13, False), ("B", 0.125, 0.09, 0.15, True)],
                              "click", chart_id="ab-1")
        twelve = format_percent(0.125)
        assert f"Version B (gagnante)\u00a0: taux de clics {twelve}" in svg
        assert "Taux de clics du test A/B avec intervalles" in svg
        funnel = charts.funnel([("1. E-mail", 0, 1200, 900)])
        assert "atteinte par 1\u202f200, terminée par 900" in funnel
        assert "1\u00a0étape." in funnel or "1 étape." in funnel


def test_the_csv_keeps_its_column_names_in_french(app, history, client, login):  # noqa: F811
    tenant, user, v1, v2, email, call = history
    login(client, user)
    body = client.get(f"/acme/analytics/sequences/{v2.id}/export.csv?period=30&version=1",
                      headers=FR).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "sequence" and rows[0][2] == "period"
    assert rows[0][3] == "30 derniers jours"
    assert ["records", "count"] in rows and any(r[:1] == ["median days to complete"]
                                                for r in rows)
    assert any(r[:3] == ["step", "name", "type"] for r in rows)
