"""Engine bulk work spread over a few database connections (the tick's rounds, a connect job's
chunks): how many, and a function wrapped to run in a thread of its own."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

from flask import current_app

from saas.extensions import db
from saas.tenancy import tenant_context


def database_workers(requested: int | None = None) -> int:
    """ENGINE_TICK_WORKERS (or `requested`) on PostgreSQL; 1 on SQLite, which has one writer."""
    if db.engine.dialect.name != "postgresql":
        return 1
    return max(1, requested or int(current_app.config["ENGINE_TICK_WORKERS"]))


def in_own_session(fn: Callable, tenant_id: int | None = None) -> Callable:
    """`fn` for another thread: in the app's context (and the tenant's), with a session of its
    own, removed when it returns."""
    app = current_app._get_current_object()

    def run(*args):
        with app.app_context(), tenant_context(tenant_id) if tenant_id else nullcontext():
            try:
                return fn(*args)
            finally:
                db.session.remove()

    return run
