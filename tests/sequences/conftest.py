"""Fixtures for the sequences area: a signed-in sequence manager and helpers that drive the
designer through its forms, as the browser would without JavaScript."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from saas.auth.models import Role
from saas.extensions import db
from saas.sequences.models import Sequence, Step
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("contoso", name="Contoso Coffee")


@pytest.fixture
def manager(tenant, make_user):
    return make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")


@pytest.fixture
def mc(client, manager, login):
    """A client signed in as the sequence manager."""
    assert login(client, manager).status_code == 302
    return client


class Designer:
    def __init__(self, app, client, tenant):
        self.app, self.client, self.tenant = app, client, tenant
        self.base = f"/{tenant.slug}/sequences"

    def create(self, name="Trade show follow-up", start="", record_type="lead") -> int:
        response = self.client.post(f"{self.base}/new/details", data={
            "name": name, "description": "", "record_type": record_type, "start": start})
        assert response.status_code == 302, response.get_data(as_text=True)
        return int(re.search(r"/sequences/(\d+)", response.location).group(1))

    def add(self, sequence_id, kind, /, place="root:main:99", **config) -> int:
        response = self.client.post(f"{self.base}/{sequence_id}/steps",
                                    data={"type": kind, "place": place})
        assert response.status_code == 302
        match = re.search(r"step=(\d+)", response.location)
        assert match, f"not added: {response.location}"
        step_id = int(match.group(1))
        if config:
            saved = self.save(sequence_id, step_id, **config)
            assert saved.status_code == 302, saved.get_data(as_text=True)
        return step_id

    def save(self, sequence_id, step_id, /, action="close", **form):
        data = {"action": action, **form}
        return self.client.post(f"{self.base}/{sequence_id}/steps/{step_id}", data=data)

    def activate(self, sequence_id, understood=True):
        return self.client.post(f"{self.base}/{sequence_id}/activate",
                                data={"understood": "y"} if understood else {})

    def sequence(self, sequence_id) -> SimpleNamespace:
        with self.app.app_context(), tenant_context(self.tenant.id):
            s = db.session.execute(select(Sequence).where(Sequence.id == sequence_id)).scalar_one()
            return SimpleNamespace(id=s.id, status=s.status, version=s.version,
                                   lineage_id=s.lineage_id, name=s.name,
                                   activated_at=s.activated_at, settings=s.settings)

    def steps(self, sequence_id) -> list[SimpleNamespace]:
        with self.app.app_context(), tenant_context(self.tenant.id):
            rows = db.session.execute(select(Step).where(Step.sequence_id == sequence_id)
                                      .order_by(Step.parent_id.nulls_first(), Step.branch,
                                                Step.position)).scalars()
            return [SimpleNamespace(id=s.id, parent_id=s.parent_id, branch=s.branch,
                                    position=s.position, type=s.type, name=s.name,
                                    config=s.config) for s in rows]


@pytest.fixture
def designer(app, mc, tenant):
    return Designer(app, mc, tenant)


@pytest.fixture
def make_template(app):
    def make(tenant, kind="email", name="Welcome"):
        with app.app_context(), tenant_context(tenant.id):
            template = MessageTemplate(kind=kind, name=name, language="en",
                                       subject="Hello" if kind == "email" else "",
                                       html_body="<p>Hi {{ record.first_name }}</p>"
                                       if kind == "email" else "",
                                       body="Hi" if kind == "sms" else "")
            db.session.add(template)
            db.session.commit()
            return template.id
    return make
