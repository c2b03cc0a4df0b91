"""Generated from `app.url_map`: every route gets bad input in each query parameter and form
field it reads (tests/fuzz/cases.py): NUL and other control characters, 10,000 and 1,000,000
characters, right-to-left and emoji text, negative, huge and non-numeric numbers, forged and
tampered cursors, missing and repeated fields. No answer may be a 5xx, and a refused request
(4xx) must leave every table's row count as it was.

A new route fails `test_every_route_has_a_fuzz_case` until tests/fuzz/cases.py lists it.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from urllib.parse import parse_qsl

import pytest
from flask import url_for
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from saas import create_app
from saas.auth.models import Role
from saas.auth.tenants import current_tenant
from saas.extensions import db
from saas.tenancy import tenant_context
from saas.web.pagination import encode_cursor
from tests.conftest import app_config
from tests.fuzz.cases import FUZZ, KNOWN_GAPS
from tests.fuzz.forms import post_fields
from tests.test_tenant_isolation import CASES as OBJECT_CASES

ANONYMOUS = {"auth.login", "auth.forgot_password", "auth.reset_password", "auth.accept_invite"}
TEXT = [
    "a\x00b", "\x01\x02\x1b\x1f\x7f", "x" * 10_000,
    "\u202eevil\u202c مرحبا שלום 👩\u200d👩\u200d👧 🏳️\u200d🌈",
    "-1", "0", "2147483648", "9" * 25, "-9223372036854775809", "1e309", "NaN", "1.5", "abc",
    "r.x", "99999999999999999999:yes:0", "%00", "' OR 1=1 --",
]


def _unsigned(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _cursors() -> list[str]:
    signed = [["x"], [1.5], [2**70], [None], [True], ["2020-01-01T00:00:00", "x"],
              ["x", "y", 2**40], [[1]], [{"a": 1}], ["\x00"], [1, 2, 3, 4]]
    return (["!!!", "a" * 5000, _unsigned([1]), _unsigned(["x", 1]), _unsigned([2**70, 1])]
            + [encode_cursor(tuple(v)) for v in signed])


def _routes() -> dict[str, set[str]]:
    app = create_app(app_config())
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        # The API's operations are fuzzed against their OpenAPI document by schemathesis
        # (tests/api/test_schemathesis.py).
        if rule.endpoint != "static" and not rule.endpoint.startswith("api."):
            routes.setdefault(rule.endpoint, set()).update(rule.methods & {"GET", "POST"})
    return routes


ROUTES = _routes()


def test_every_route_has_a_fuzz_case(capsys):
    missing = set(ROUTES) - set(FUZZ)
    assert not missing, f"routes with no fuzz case in tests/fuzz/cases.py: {sorted(missing)}"
    with capsys.disabled():
        print(f"\nfuzz: {len(ROUTES)} routes covered")


def _counts() -> dict[str, int]:
    tables = [t.name for t in db.metadata.sorted_tables]
    query = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)  # noqa: S608
    with db.engine.connect() as conn:
        return dict(conn.execute(text(query)).all())


def _variants(base: dict, cursors: list[str]):
    """(label, values) pairs: each field spoiled in turn, missing, repeated; all at 1 MB."""
    yield "as given", MultiDict(base)
    yield "an unknown parameter", MultiDict({**base, "x\x00": "\x00" * 3})
    for name in base:
        payloads = cursors if name == "after" else TEXT
        for payload in payloads:
            yield f"{name}={payload[:20]!r}", MultiDict({**base, name: payload})
        rest = MultiDict(base)
        rest.pop(name)
        yield f"{name} missing", rest
        repeated = MultiDict(base)
        repeated.add(name, "2")
        repeated.add(name, "\x00")
        yield f"{name} repeated", repeated
    if base:
        yield "all 1,000,000 characters", MultiDict({k: "x" * 1_000_000 for k in base})


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_bad_input_never_makes_a_5xx(app, endpoint, make_tenant, make_user, login, caplog):
    tenant = make_tenant("alpha", opportunities=True)
    user = make_user(tenant, roles=list(Role))
    client = app.test_client()
    if endpoint not in ANONYMOUS and not endpoint.startswith("public."):
        login(client, user)
    target, values, data = FUZZ[endpoint], {}, {}
    with app.app_context(), tenant_context(tenant.id):
        if endpoint in OBJECT_CASES:
            case = OBJECT_CASES[endpoint](current_tenant())
            values, data = case.values, case.data
        db.session.commit()
        with app.test_request_context():
            kwargs = {} if endpoint.startswith("public.") else {"tenant": "alpha"}
            path = url_for(endpoint, **kwargs, **values)
        cursors = _cursors()
    path, _, query = path.partition("?")  # a link that carries its own query string
    args = {**target.args, **dict(parse_qsl(query))}

    problems: list[str] = []
    statuses: Counter = Counter()
    methods = ROUTES[endpoint]
    fields = {**data, **target.fields}
    if "GET" in methods:
        page = client.get(path, query_string=args)
        if page.status_code >= 500:
            problems.append(f"GET with valid arguments: {page.status_code}")
        if target.read_page and "POST" in methods and page.mimetype == "text/html":
            fields = {**post_fields(page.get_data(as_text=True), path), **fields}

    with app.app_context():
        before = _counts()
        requests = []
        if "GET" in methods:
            requests += [("GET", label, spoiled, None)
                         for label, spoiled in _variants(args, cursors)]
        if "POST" in methods:
            requests += [("POST", label, MultiDict(args) if "GET" not in methods else None,
                          form) for label, form in _variants(fields, cursors)]
        for method, label, query_args, form in requests:
            try:
                response = client.open(path, method=method, query_string=query_args,
                                       data=form)
                status = response.status_code
                response.close()
            except Exception as error:  # noqa: BLE001 - the app raised: report which input
                problems.append(f"{method} {label}: raised {type(error).__name__}: {error}"[:300])
                db.session.rollback()
                before = _counts()
                continue
            after = _counts()
            known = label.split("=")[0].split(" ")[0] in KNOWN_GAPS.get(endpoint, ())
            if any(r.name == "saas.web.errors" for r in caplog.records) and not known:
                # the safety net caught a database error: a case the boundary should refuse
                problems.append(f"{method} {label}: {status} from the DataError safety net")
            caplog.clear()
            statuses[f"{method} {status}"] += 1
            if status >= 500:
                problems.append(f"{method} {label}: {status}")
            elif 400 <= status < 500 and after != before:
                changed = {t: (before[t], after[t]) for t in after if before[t] != after[t]}
                problems.append(f"{method} {label}: {status} but rows changed {changed}")
            before = after
    if os.environ.get("FUZZ_REPORT"):  # a file to note the answers in: what did the fuzz reach?
        with open(os.environ["FUZZ_REPORT"], "a") as report:
            report.write(f"{endpoint} {sorted(fields)} {sorted(args)} {dict(statuses)}\n")
    assert not problems, f"{endpoint} ({path}):\n" + "\n".join(problems)
