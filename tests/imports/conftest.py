"""Fixtures for CSV imports: a signed-in manager, uploading, confirming, running the jobs."""

from __future__ import annotations

import io
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from rq import Queue
from sqlalchemy import select

from saas.auth.models import Role
from saas.extensions import db
from saas.imports.models import ImportError_, ImportJob
from saas.records.models import Record
from saas.tenancy import tenant_context
from worker.runner import AppWorker


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("acme", name="Acme", opportunities=True)


@pytest.fixture
def manager(tenant, make_user):
    return make_user(tenant, roles=[Role.SEQUENCE_MANAGER], name="Mo Manager",
                     email="mo@acme.example")


@pytest.fixture
def manager_client(client, manager, login):
    assert login(client, manager).status_code == 302
    return client


@pytest.fixture
def run_jobs(app, redis_conn):
    """Runs every queued job with the real worker class, as `python -m worker --burst` would."""

    def run() -> None:
        queue = Queue("default", connection=redis_conn)
        AppWorker([queue], connection=redis_conn, app=app).work(burst=True)

    return run


class _Selects(HTMLParser):
    """The selected option of each <select> on a page: {name: value}."""

    def __init__(self):
        super().__init__()
        self.selected: dict[str, str] = {}
        self._name: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._name = attrs.get("name")
            self.selected.setdefault(self._name, "")
        elif tag == "option" and self._name and "selected" in attrs:
            self.selected[self._name] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._name = None


def selected_options(html: str) -> dict[str, str]:
    parser = _Selects()
    parser.feed(html)
    return parser.selected


def upload(client, slug: str, content: bytes | str, *, record_type: str = "lead",
           filename: str = "people.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(f"/{slug}/imports/new", data={
        "record_type": record_type, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data")


def import_id_of(response) -> int:
    match = re.search(r"/imports/(\d+)/mapping$", response.headers.get("Location", ""))
    assert match, f"no redirect to the mapping page: {response.status_code}"
    return int(match.group(1))


@pytest.fixture
def start_import(manager_client):
    """start_import(slug, content, mode=..., change={header index: field}) -> import id.

    Uploads, takes the columns the mapping page chose (with `change` applied), starts it.
    """

    def start(slug: str, content: bytes | str, *, mode: str = "skip", change=None,
              record_type: str = "lead") -> int:
        client = manager_client
        import_id = import_id_of(upload(client, slug, content, record_type=record_type))
        page = client.get(f"/{slug}/imports/{import_id}/mapping")
        assert page.status_code == 200
        data = selected_options(page.get_data(as_text=True))
        for index, key in (change or {}).items():
            data[f"col_{index}"] = key
        data["duplicate_mode"] = mode
        response = client.post(f"/{slug}/imports/{import_id}/mapping", data=data)
        assert response.status_code == 302, unescape(response.get_data(as_text=True))
        return import_id

    return start


@pytest.fixture
def load(app):
    """load(tenant) -> helpers reading what an import left in the database."""

    class Reader:
        def __init__(self, tenant):
            self.tenant = tenant

        def _all(self, stmt):
            with app.app_context(), tenant_context(self.tenant.id):
                rows = list(db.session.execute(stmt).scalars())
                db.session.expunge_all()
                return rows

        def job(self, import_id: int) -> ImportJob:
            return self._all(select(ImportJob).where(ImportJob.id == import_id))[0]

        def records(self, record_type: str = "lead") -> dict[str, Record]:
            rows = self._all(select(Record).where(Record.record_type == record_type)
                             .order_by(Record.id))
            return {r.email or f"#{r.id}": r for r in rows}

        def errors(self, import_id: int) -> list[tuple[int, str]]:
            rows = self._all(select(ImportError_).where(ImportError_.import_id == import_id)
                             .order_by(ImportError_.line))
            return [(e.line, e.message) for e in rows]

    return Reader
