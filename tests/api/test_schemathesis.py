"""The API fuzzed against its own OpenAPI document by schemathesis, over real HTTP: for every
operation a bounded number of generated requests with a valid key, and none may answer a 5xx,
an undocumented status or content type, or a body that does not match its schema.

The organization has a few records and a custom field, so that generated ids sometimes hit
(1..5) and list operations return items to check."""

from __future__ import annotations

import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from saas import create_app
from saas.api.openapi import document
from tests.conftest import app_config

EXAMPLES = 25  # per operation: ~1,000 requests in all, under a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


def _document() -> dict:
    app = create_app(app_config())
    with app.test_request_context():
        return document()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def served(app):
    live = create_app(app_config(API_RATE_LIMIT="100000 per minute"))
    server = make_server("127.0.0.1", 0, live, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def key(app, served, admin, make_key, add_records):
    from saas.extensions import db
    from saas.records.custom_fields import add_custom_field
    from saas.tenancy import tenant_context

    add_records(admin.tenant, 5)
    with app.app_context(), tenant_context(admin.tenant.id):
        add_custom_field(record_type="lead", label="Tier", kind="text")
        db.session.commit()
    return make_key(admin)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented(case, served, key, admin):
    case.call_and_validate(base_url=f"{served}/api/v1/{admin.tenant.slug}",
                           headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
