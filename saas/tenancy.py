"""One tenancy mechanism that cannot be forgotten.

- URLs carry the tenant slug (`/<tenant>/...`); `saas.auth.tenants.register_tenancy` resolves it
  once per request and fills it back into `url_for`, so views never take the slug as a parameter.
- Every tenant-owned model inherits `TenantScoped`. A `do_orm_execute` hook adds
  `tenant_id == current` to every ORM select, update and delete on such a model; with no tenant in
  context the query raises (fail closed). `before_flush` stamps new rows with the current tenant and
  refuses rows of another tenant.
- Cross-tenant work (the engine's tick) opts out per statement with
  `.execution_options(all_tenants=True)` and then works inside `tenant_context(tenant_id)`.
- Never `session.get()` a scoped model (the identity map skips criteria): use `get_or_404`.
- Core and text SQL (bulk work) are not rewritten: they filter `tenant_id` themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from flask import abort
from sqlalchemy import BigInteger, ForeignKey, event, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria
from sqlalchemy.sql.util import find_tables

_current_tenant_id: ContextVar[int | None] = ContextVar("current_tenant_id", default=None)

T = TypeVar("T")


class TenantContextMissing(RuntimeError):
    """A tenant-scoped model was queried or written with no tenant in context."""


class CrossTenantWrite(RuntimeError):
    """A row of one tenant was about to be written while another tenant is in context."""


class TenantScoped:
    """Mixin for every tenant-owned model: adds `tenant_id` and opts the model into scoping."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805 - declared_attr receives the class
        return mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False)


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


@contextmanager
def tenant_context(tenant_id: int) -> Iterator[None]:
    """Run a block (a job, a CLI command, a test) as the given tenant."""
    token = _current_tenant_id.set(tenant_id)
    try:
        yield
    finally:
        _current_tenant_id.reset(token)


def get_or_404(model: type[T], object_id) -> T:
    """Load one object by id within the current tenant, or answer 404 (never 403)."""
    from saas.extensions import db
    from saas.web.ids import BIGINT_MAX, INT_MAX, parse_id

    big = isinstance(model.__table__.c.id.type, BigInteger)
    object_id = parse_id(object_id, BIGINT_MAX if big else INT_MAX)
    if object_id is None:
        abort(404)
    obj = db.session.execute(select(model).where(model.id == object_id)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


def _is_scoped(mapper) -> bool:
    return issubclass(mapper.class_, TenantScoped)


def _scoped_tables() -> dict:
    from saas.extensions import db

    return {m.local_table: m.class_.__name__ for m in db.Model.registry.mappers
            if _is_scoped(m)}


def _scoped_names(state) -> str:
    """The scoped models a statement reads or writes, including ones only in its FROM clause
    (`select(func.count()).select_from(Record)` names no entity, yet reads `record`)."""
    names = {m.class_.__name__ for m in state.all_mappers if _is_scoped(m)}
    if not names and state.is_select:  # rare: walk the tables (cheap next to compiling it)
        tables = _scoped_tables()
        names = {tables[t] for t in find_tables(state.statement, include_joins=True)
                 if t in tables}
    return ", ".join(sorted(names))


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # these come from an already-scoped load
    if state.execution_options.get("all_tenants", False):
        return
    names = _scoped_names(state)
    if not names:
        return
    tid = _current_tenant_id.get()
    if tid is None:
        raise TenantContextMissing(f"query on tenant-scoped {names} with no tenant in context")
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tid, include_aliases=True)
    )


@event.listens_for(Session, "before_flush")
def _stamp_and_check_tenant(session: Session, flush_context, instances) -> None:
    tid = _current_tenant_id.get()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        if tid is None:
            raise TenantContextMissing(f"writing {type(obj).__name__} with no tenant in context")
        if obj.tenant_id is None and obj in session.new:
            obj.tenant_id = tid
        elif obj.tenant_id != tid:
            raise CrossTenantWrite(
                f"{type(obj).__name__} of tenant {obj.tenant_id} written as tenant {tid}"
            )
