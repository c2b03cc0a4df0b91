"""Every page the app serves, in French: generated from `app.url_map`, so a new page cannot
escape the check of tests/i18n/test_french_pages.py.

A page without an id is visited by the hand-written list there (`_admin_pages`, the seller's and
the visitor's pages); a page with an id is built by its tenant-isolation case
(tests/test_tenant_isolation.py, which every route with an id must have) in the French-speaking
workspace and visited by its French administrator (or, for a link from an email, by someone not
signed in whose browser asks for French). What is not a page (a CSV, a pixel, JSON, a redirect)
is listed in NOT_PAGES.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, update

from saas.auth.tenants import current_tenant
from saas.extensions import db
from saas.imports.models import ImportJob
from saas.segments.models import Segment
from saas.sequences.models import Sequence, Step
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from tests.i18n.test_french_pages import (
    PUBLIC_PAGES,
    ROOT_PAGES,
    SELLER_PAGES,
    _admin_pages,
    _french_workspace,
    english_in,
)
from tests.test_tenant_isolation import CASES

# The isolation cases name their objects in English ("Task", "Template 3"): typed in French here,
# as the users of a French-speaking workspace would, so only the product's own words are checked.
DATA_IN_FRENCH = {"Assigned": "Attribués", "Task": "Tâche", "Next": "Ensuite", "Call": "Appel",
                  "Wait": "Attente", "After": "Après", "Book a meeting": "Prendre rendez-vous"}

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
# GET routes that answer something other than a page in a language (or only redirect).
NOT_PAGES = {
    "static", "public.favicon", "public.healthz", "records.count_leads",
    "records.count_opportunities", "records.export_leads", "records.export_opportunities",
    "analytics.export_csv", "imports.errors_csv", "sequences.export", "worklist.counts",
    "tracking.click", "tracking.open_pixel", "admin.index", "api_docs.openapi_json",
}


def _page_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and not rule.endpoint.startswith("api.")
            and rule.endpoint not in NOT_PAGES}


def _endpoint(app, path: str) -> str:
    adapter = app.url_map.bind("localhost")
    return adapter.match(path.split("?")[0], method="GET")[0]


def _listed(app, ids: dict) -> set[str]:
    paths = [f"/contoso/{p}" for p in _admin_pages(ids) + SELLER_PAGES + PUBLIC_PAGES]
    return {_endpoint(app, path) for path in paths + [f"/{p}" for p in ROOT_PAGES]}


def _typed_in_french() -> None:
    for model in (Segment, Step):
        for english, french in DATA_IN_FRENCH.items():
            db.session.execute(update(model).where(model.name == english).values(name=french))
    for model, english, french in ((MessageTemplate, "Template ", "Modèle "),
                                   (Sequence, "Sequence ", "Séquence ")):
        db.session.execute(update(model).where(model.name.startswith(english)).values(
            name=func.replace(model.name, english, french)))
    db.session.execute(update(ImportJob).where(ImportJob.filename == "people.csv").values(
        headers=["E-mail"], content=b"E-mail\nx@y.example\n"))


def test_every_page_is_visited_in_french(app, make_tenant, make_user):
    tenant, admin, seller, ids = _french_workspace(app, make_tenant, make_user)
    unvisited = _page_endpoints(app) - _listed(app, ids) - set(CASES)
    assert not unvisited, f"pages no French check visits: {sorted(unvisited)}"


def _get_cases(app) -> list[str]:
    with app.app_context():
        endpoints = _page_endpoints(app)
    return sorted(e for e in endpoints if e in CASES)


@pytest.fixture(scope="module")
def page_cases(app):
    return _get_cases(app)


def test_every_page_with_an_id_speaks_french(app, make_tenant, make_user, login, page_cases):
    tenant, admin, seller, ids = _french_workspace(app, make_tenant, make_user)
    problems, visited = [], 0
    for endpoint in page_cases:
        with app.app_context(), tenant_context(tenant.id):
            case = CASES[endpoint](current_tenant())
            _typed_in_french()
            db.session.commit()
            if case.method != "GET":
                continue
            with app.test_request_context():
                path = app.url_for(endpoint, tenant=tenant.slug, **case.values)
        client = app.test_client()
        if not case.anonymous_owner:
            login(client, admin)
        response = client.get(path, headers=FRENCH)
        visited += 1
        if response.status_code != 200:
            problems.append(f"{endpoint} {path}: {response.status_code}")
            continue
        if not response.mimetype.startswith("text/html"):
            problems.append(f"{endpoint} {path}: {response.mimetype}, not a page (NOT_PAGES?)")
            continue
        for text in english_in(response.get_data(as_text=True)):
            problems.append(f"{endpoint} {path}: {text!r}")
    assert visited, "no page with an id was visited"
    assert not problems, f"{len(problems)} English texts on French pages:\n" + \
        "\n".join(problems[:80])


def test_the_not_found_page_speaks_french(app, make_tenant, make_user, login):
    tenant, admin, seller, ids = _french_workspace(app, make_tenant, make_user)
    client = app.test_client()
    login(client, admin)
    response = client.get(f"/{tenant.slug}/records/999999999", headers=FRENCH)
    assert response.status_code == 404
    assert english_in(response.get_data(as_text=True)) == []

