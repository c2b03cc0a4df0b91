"""Every `next` redirect stays on the site (issue 17, hole 3): known open-redirect payloads, sent
to each route that reads `next`, answer a Location that a browser resolves to our own host."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from saas.auth.models import Role
from saas.engine import services as engine_services
from saas.engine.models import StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.tenancy import tenant_context
from saas.web.safe_url import safe_next
from tests.engine.factories import build_sequence

PAYLOADS = [
    "//evil.example", "///evil.example", "////evil.example/acme/", "/\\evil.example",
    "\\\\evil.example", "/\\/evil.example", "\\/evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", " //evil.example",
    "/ /evil.example", "/\x00/evil.example", "/\x0b/evil.example", "/%09/evil.example",
    "/%0a/evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example",
    "/%5C%5Cevil.example", "/%252F%252Fevil.example", "/%25252F/evil.example",
    "https://evil.example/acme/", "http:evil.example", "http:/evil.example",
    "https:/\\evil.example",
    "//evil.example/acme/leads", "//evil.example%2F%2E%2E", "javascript:alert(1)",
    "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>", "/\u3002evil.example",
    "//evil\u3002example", "/\u2215\u2215evil.example", "/\uff0f/evil.example",
    "/acme/\t/evil.example", "/acme@evil.example", "acme/leads", ".//evil.example",
    "/other-org/leads",
]


def _browser_target(location: str, page: str) -> str:
    """Where a browser goes: it drops tabs and newlines and reads a backslash as a slash."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").strip()
    return urljoin(page, cleaned)


def _stays_home(response, page="http://localhost/acme/leads") -> None:
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["Location"]
    target = urlsplit(_browser_target(location, page))
    assert target.netloc in ("", "localhost"), location
    assert target.scheme in ("", "http"), location
    assert not target.path.startswith("//") and "evil" not in target.path, location


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_check_refuses_each_payload(app, payload):
    with app.test_request_context("/"):
        assert safe_next(payload, "acme") is None


@pytest.mark.parametrize("good", ["/acme/leads", "/acme/leads?q=Ann%20Lee&after=3",
                                  "/acme/sequences/4/connected?status=paused"])
def test_the_check_keeps_a_path_on_the_site(app, good):
    with app.test_request_context("/"):
        assert safe_next(good, "acme") == good


@pytest.fixture
def site(app, make_tenant, make_user, add_records, login):
    tenant = make_tenant("acme", name="Acme")
    make_tenant("other-org")
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], email="ada@acme.example")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@acme.example")
    record_id = add_records(tenant, 1, owner_id=seller.id)[0]
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([{"type": "call", "name": "Intro call"}])
        db.session.commit()
        record = db.session.execute(select(Record).where(Record.id == record_id)).scalar_one()
        enrollment = engine_services.connect_one(record, sequence, admin.id)
        db.session.commit()
        ids = {"enrollment": enrollment.id, "sequence": sequence.id}
    client = app.test_client()
    assert login(client, admin).status_code == 302
    return client, admin, ids


def _every_next_route(client, admin, ids):
    """(name, response) for each route that reads `next`, given a payload."""
    def run(payload):
        e, s = ids["enrollment"], ids["sequence"]
        anonymous = client.application.test_client()
        yield "login", anonymous.post("/acme/login", query_string={"next": payload},
                                      data={"email": admin.email, "password": admin.password})
        for action in ("pause", "resume", "disconnect", "assign"):
            yield action, client.post(f"/acme/enrollments/{e}/{action}",
                                      data={"next": payload, "seller_id": admin.id})
        yield "connect-selection", client.post("/acme/sequences/connect-selection",
                                               data={"next": payload})
        yield "bulk", client.post(f"/acme/sequences/{s}/connected/bulk", data={"next": payload})
        yield "auto-advance", client.post("/acme/worklist/auto-advance", data={"next": payload})
        with client.application.app_context(), tenant_context(admin.tenant.id):
            run_id = db.session.execute(select(StepRun.id).where(StepRun.enrollment_id == e)
                                        .limit(1)).scalar_one()
        yield "worklist-action", client.post(
            f"/acme/activities/{run_id}/skip", data={"from": "worklist", "next": payload})
    return run


def test_every_next_route_stays_on_the_site_for_every_payload(site):
    client, admin, ids = site
    run = _every_next_route(client, admin, ids)
    for payload in PAYLOADS:
        for name, response in run(payload):
            try:
                _stays_home(response)
            except AssertionError as error:
                raise AssertionError(f"{name} with next={payload!r}: {error}") from None


def test_a_good_next_is_followed(site):
    client, admin, ids = site
    response = client.post(f"/acme/enrollments/{ids['enrollment']}/pause",
                           data={"next": "/acme/leads?q=Ann%20Lee"})
    assert response.headers["Location"] == "/acme/leads?q=Ann%20Lee"


def test_no_route_reads_next_without_the_check():
    """A new route reading `next` must pass it through safe_next (this fails until it does)."""
    root = Path(__file__).resolve().parent.parent / "saas"
    reads = re.compile(r"""(?:args|form|values)\.get\(\s*["']next["']""")
    checked = re.compile(r"""safe_next\(\s*request\.(?:args|form|values)\.get\(\s*["']next["']""")
    unchecked = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        if len(reads.findall(text)) != len(checked.findall(text)):
            unchecked.append(str(path.relative_to(root)))
    assert unchecked == []
