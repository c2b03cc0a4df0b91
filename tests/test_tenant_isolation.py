"""Generated from `app.url_map`: every route that takes an object id (or a token naming one) is
requested by a system administrator of another tenant, through that tenant's own URLs (expects
404), and by the owner tenant's administrator (expects success, so the 404 is no accident).

A new route with a parameter fails `test_every_route_with_an_id_has_a_case` until it gets a case
here: add a builder to CASES that creates the object in tenant A and returns the request.
"""

from __future__ import annotations

import importlib
import itertools
from dataclasses import dataclass, field

import pytest

from saas import create_app
from saas.auth import tokens
from saas.auth.models import Role, User
from saas.auth.tenants import current_tenant
from saas.extensions import db
from saas.messaging.outbox import store_email
from saas.records.custom_fields import add_custom_field
from saas.records.models import Record
from saas.segments.models import Segment
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from tests.conftest import app_config
from tests.segments.isolation_cases import assignment_rule_case, segment_case

_numbers = itertools.count(1)


@dataclass
class Case:
    values: dict
    method: str = "GET"
    data: dict = field(default_factory=dict)
    anonymous_owner: bool = False  # token links are opened by someone not yet signed in


def _user(status: str = "active") -> User:
    user = User(email=f"target-{next(_numbers)}@alpha.example", name="Target", roles=["seller"],
                status=status, password_hash=None if status == "invited" else "x")
    db.session.add(user)
    db.session.flush()
    return user


def _user_case(method: str = "GET", status: str = "active"):
    def build(tenant) -> Case:
        return Case({"user_id": _user(status).id}, method)
    return build


def _outbox_case(tenant) -> Case:
    message = store_email(purpose="test", to="x@example.com", subject="Hello", text="Hi")
    db.session.flush()
    return Case({"message_id": message.id})


def _invite_case(tenant) -> Case:
    user = _user("invited")
    token = tokens.make_token(tokens.INVITE,
                              {"uid": user.id, "t": tenant.id, "n": user.session_token})
    return Case({"token": token}, anonymous_owner=True)


def _reset_case(tenant) -> Case:
    user = _user("active")
    token = tokens.make_token(tokens.PASSWORD_RESET,
                              {"uid": user.id, "t": tenant.id, "h": user.password_hash[-16:]})
    return Case({"token": token}, anonymous_owner=True)


def _record() -> Record:
    record = Record(record_type="lead", first_name="Rita", last_name="Target", status="new",
                    custom={}, email=f"rita{next(_numbers)}@alpha.example")
    db.session.add(record)
    db.session.flush()
    return record


def _record_case(method: str = "GET", data: dict | None = None):
    def build(tenant) -> Case:
        return Case({"record_id": _record().id}, method, data or {})
    return build


def _api_key_case(tenant) -> Case:
    from saas.api.keys import create_key

    creator = _user()
    creator.roles = ["system_administrator"]
    __, key = create_key(name=f"Key {next(_numbers)}", role="read_only", created_by=creator)
    return Case({"key_id": key.id}, "POST")


def _custom_field_case(tenant) -> Case:
    field = add_custom_field(record_type="lead", label=f"Tier {next(_numbers)}", kind="text")
    return Case({"field_id": field.id}, "POST")


def _import_case(method: str = "GET", status: str = "completed"):
    def build(tenant) -> Case:
        from saas.imports.models import ImportJob

        job = ImportJob(record_type="lead", filename="people.csv", content=b"Email\nx@y.example\n",
                        delimiter=",", headers=["Email"], mapping={}, status=status,
                        failure_reason="Interrupted." if status == "failed" else None)
        db.session.add(job)
        db.session.flush()
        return Case({"import_id": job.id}, method)
    return build


def _segment_case(method: str = "GET", status: str = "draft"):
    def build(tenant) -> Case:
        segment = Segment(name=f"Segment {next(_numbers)}", record_type="lead", status=status,
                          rules={"op": "and", "rules": [
                              {"field": "lead_source", "operator": "equals", "value": "Web"}]})
        db.session.add(segment)
        db.session.flush()
        return Case({"segment_id": segment.id}, method)
    return build


def _template_case(method: str = "GET", data: dict | None = None):
    def build(tenant) -> Case:
        template = MessageTemplate(kind="sms", name=f"Template {next(_numbers)}", language="en",
                                   body="Hi {{ record.first_name }}")
        db.session.add(template)
        db.session.flush()
        return Case({"template_id": template.id}, method, data or {})
    return build


CASES = {
    "message_templates.edit": _template_case(),
    "message_templates.preview": _template_case(),
    "message_templates.delete": _template_case("POST"),
    "segments.edit": _segment_case(),
    "segments.activate": _segment_case("POST"),
    "segments.deactivate": _segment_case("POST", status="active"),
    "segments.reevaluate": _segment_case("POST", status="active"),
    "segments.delete": _segment_case("POST"),
    "records.show": _record_case(),
    "records.edit": _record_case("POST", {"last_name": "Renamed", "status": "new"}),
    "records.delete": _record_case("POST"),
    "admin.delete_custom_field": _custom_field_case,
    "api_keys.revoke": _api_key_case,
    "admin.edit_user": _user_case(),
    "admin.deactivate_user": _user_case("POST"),
    "admin.reactivate_user": _user_case("POST", status="deactivated"),
    "admin.reset_password": _user_case("POST"),
    "admin.resend_invite": _user_case("POST", status="invited"),
    "admin.outbox_message": _outbox_case,
    "auth.accept_invite": _invite_case,
    "auth.reset_password": _reset_case,
    "imports.mapping": _import_case(status="uploaded"),
    "imports.show": _import_case(),
    "imports.progress": _import_case(status="running"),
    "imports.errors_csv": _import_case(),
    "imports.restart": _import_case("POST", status="failed"),
    "assignment.rules": segment_case,
    "assignment.delete_rule": assignment_rule_case(),
    "assignment.move_rule": assignment_rule_case(data={"direction": "up"}),
}


# Each area keeps its own builders in tests/<area>/isolation_cases.py (a dict named CASES).
AREAS = ["sequences", "engine", "messaging", "worklist", "analytics", "calendars",
         "outbound"]
for _area in AREAS:
    CASES.update(importlib.import_module(f"tests.{_area}.isolation_cases").CASES)


def _routes_with_ids() -> set[str]:
    app = create_app(app_config())
    # The API's operations have their own generated matrix, with keys instead of sign-ins
    # (tests/api/test_api_isolation.py).
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" and not rule.endpoint.startswith("api.")
            and set(rule.arguments) - {"tenant"}}


ROUTES = sorted(_routes_with_ids())


def test_every_route_with_an_id_has_a_case(capsys):
    missing = set(ROUTES) - set(CASES)
    assert not missing, f"routes with an id but no isolation case: {sorted(missing)}"
    with capsys.disabled():
        print(f"\ntenant isolation: {len(ROUTES)} routes with ids covered")


@pytest.mark.parametrize("endpoint", ROUTES)
def test_another_tenants_object_is_404(app, endpoint, make_tenant, make_user, login):
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    owner = make_user(alpha, roles=[Role.SYSTEM_ADMINISTRATOR])
    stranger = make_user(beta, roles=[Role.SYSTEM_ADMINISTRATOR])
    with app.app_context(), tenant_context(alpha.id):
        case = CASES[endpoint](current_tenant())
        db.session.commit()
        with app.test_request_context():
            path_alpha = app.url_for(endpoint, tenant="alpha", **case.values)
            path_beta = app.url_for(endpoint, tenant="beta", **case.values)

    stranger_client = app.test_client()
    login(stranger_client, stranger)
    other = stranger_client.open(path_beta, method=case.method, data=case.data)
    assert other.status_code == 404, f"{endpoint}: another tenant got {other.status_code}"

    owner_client = app.test_client()
    if not case.anonymous_owner:
        login(owner_client, owner)
    mine = owner_client.open(path_alpha, method=case.method, data=case.data)
    assert mine.status_code < 400, f"{endpoint}: the owner got {mine.status_code}"
