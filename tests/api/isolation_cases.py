"""What each API operation with a path id needs: a builder that makes the object in tenant A
(inside A's tenant context) and returns an ApiCase. A new operation with a path id fails
`test_every_operation_with_an_id_has_a_case` until it has one here."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from saas.extensions import db
from saas.records.models import Record

_numbers = itertools.count(1)


@dataclass
class ApiCase:
    values: dict
    body: dict | None = None
    ok: tuple[int, ...] = (200, 201, 204)  # what the owner's key gets


def record() -> Record:
    n = next(_numbers)
    row = Record(record_type="lead", first_name="Rita", last_name=f"Target{n}", status="new",
                 custom={}, email=f"rita{n}@alpha.example")
    db.session.add(row)
    db.session.flush()
    return row


def _record_case(body: dict | None = None, ok=(200, 201, 204)):
    def build(ctx) -> ApiCase:
        return ApiCase({"record_id": record().id}, body, ok)
    return build


CASES: dict[str, Callable] = {
    "get_record": _record_case(),
    "update_record": _record_case({"company": "Changed"}),
    "delete_record": _record_case(),
}
