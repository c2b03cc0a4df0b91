"""Idempotency-Key on POSTs: a retried request gets the first answer, not a second effect.

The key's row is inserted in the request's own transaction, before the view runs: it commits
with the view's effect or not at all (an error rolls both back, and a retry starts afresh). A
retry that arrives while the first request runs waits on the row's unique index until the first
commits, then reads its answer. Rows are kept 24 hours (saas/admin/retention.py purges them).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Response, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from saas.api.models import IdempotentRequest
from saas.api.problems import ApiProblem
from saas.extensions import db
from saas.i18n import _
from saas.timeutil import utcnow

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
TABLE = IdempotentRequest.__table__


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _checked_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not (key.isascii() and key.isprintable()):
        raise ApiProblem(400, errors=[{"field": HEADER, "message": _(
            "Use 1 to 255 printable ASCII characters, e.g. a UUID.")}])
    return key


def begin(op) -> Response | None:
    """Claim the key for this request, or the stored answer of the request that claimed it."""
    key = _checked_key()
    if key is None:
        return None
    api_key_id, now = g.api_key.id, utcnow()
    fingerprint = _fingerprint()
    db.session.execute(delete(TABLE).where(
        TABLE.c.api_key_id == api_key_id, TABLE.c.key == key, TABLE.c.created_at < now - KEEP))
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    claimed = db.session.execute(
        insert(TABLE).values(tenant_id=g.api_key.tenant_id, api_key_id=api_key_id, key=key,
                             fingerprint=fingerprint, created_at=now)
        .on_conflict_do_nothing(index_elements=["api_key_id", "key"]).returning(TABLE.c.id)
    ).scalar()
    if claimed is not None:
        g.idempotent_id = claimed
        return None
    first = db.session.execute(
        select(TABLE.c.fingerprint, TABLE.c.status_code, TABLE.c.response_body)
        .where(TABLE.c.api_key_id == api_key_id, TABLE.c.key == key)).one()
    if first.fingerprint != fingerprint:
        raise ApiProblem(422, _("This Idempotency-Key was used for another request."),
                         errors=[{"field": HEADER, "message": _(
                             "Use a new key for each new request.")}])
    if first.status_code is None:
        raise ApiProblem(409, detail=_(
            "A request with this Idempotency-Key was carried out and its answer is not "
            "available: read the resource to see its state."), headers={"Retry-After": "1"})
    response = Response(first.response_body, status=first.status_code,
                        mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def finish(response: Response) -> None:
    """Keep the answer of a request that claimed a key (same commit as its effect, or the
    next one when the view committed already)."""
    claimed = g.pop("idempotent_id", None)
    if claimed is None:
        return
    if response.status_code >= 400:
        db.session.rollback()  # a refused request leaves no key behind: a retry runs again
        return
    db.session.execute(update(TABLE).where(TABLE.c.id == claimed).values(
        status_code=response.status_code, response_body=response.get_data(as_text=True)))
    db.session.commit()


PURGE_GATE = "saas:api:idempotency-purge"


def purge_expired(batch: int = 5000, rounds: int = 20) -> int:
    """The periodic task: keys older than 24 hours deleted, every tenant's, at most once an
    hour, in small batches (each its own commit). Returns how many rows went."""
    from saas.extensions import get_redis

    if not get_redis().set(PURGE_GATE, "1", nx=True, ex=3600):
        return 0
    cutoff, removed = utcnow() - KEEP, 0
    for __ in range(rounds):
        ids = select(TABLE.c.id).where(TABLE.c.created_at < cutoff).limit(batch)
        gone = db.session.execute(  # every tenant's, on purpose
            delete(TABLE).where(TABLE.c.id.in_(ids.scalar_subquery()))
            .execution_options(all_tenants=True)).rowcount
        db.session.commit()
        removed += gone
        if gone < batch:
            break
    return removed
