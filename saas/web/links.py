"""Absolute links for messages built outside a request (the worker): built from `PUBLIC_URL`
through the app's URL map, so they follow the routes."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import BuildError, MapAdapter


def adapter() -> MapAdapter:
    """A URL builder for the public address (make one per batch: building is then cheap)."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    return current_app.url_map.bind(public.netloc, script_name=public.path or "/",
                                    url_scheme=public.scheme or "http")


def external(endpoint: str, *, builder: MapAdapter | None = None, **values) -> str | None:
    """The absolute URL of an endpoint, or None when it does not exist (yet)."""
    try:
        return (builder or adapter()).build(endpoint, values, force_external=True)
    except BuildError:
        return None
