"""The tenant in context as an object, and the `/<tenant>/` part of every URL (see
`saas.tenancy` for the mechanism that scopes every query to it)."""

from __future__ import annotations

from flask import Flask, abort, g, has_request_context
from sqlalchemy import select

from saas.auth.models import Tenant
from saas.extensions import db
from saas.tenancy import _current_tenant_id


def current_tenant():
    """The tenant in context as an object (the request's, or loaded for a job)."""
    tid = _current_tenant_id.get()
    if tid is None:
        return None
    if has_request_context() and getattr(g, "tenant", None) is not None and g.tenant.id == tid:
        return g.tenant
    return db.session.get(Tenant, tid)


def register_tenancy(app: Flask) -> None:
    """Resolve `/<tenant>/` once per request and fill it into `url_for`."""
    @app.url_value_preprocessor
    def _pull_tenant(endpoint, values) -> None:
        g.tenant = None
        if not values or "tenant" not in values:
            return
        slug = values.pop("tenant")
        tenant = db.session.execute(
            select(Tenant).where(Tenant.slug == slug)
        ).scalar_one_or_none()
        if tenant is None:
            abort(404)
        g.tenant = tenant
        g._tenant_token = _current_tenant_id.set(tenant.id)

    @app.url_defaults
    def _add_tenant(endpoint, values) -> None:
        if "tenant" in values or getattr(g, "tenant", None) is None:
            return
        if app.url_map.is_endpoint_expecting(endpoint, "tenant"):
            values["tenant"] = g.tenant.slug

    @app.teardown_request
    def _forget_tenant(exc) -> None:
        token = g.pop("_tenant_token", None)
        if token is not None:
            _current_tenant_id.reset(token)
