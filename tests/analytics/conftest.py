from __future__ import annotations

from contextlib import contextmanager

import pytest

from saas.extensions import db
from saas.tenancy import tenant_context


@pytest.fixture
def within(app):
    """`with within(tenant):` an app context as that tenant; commits when the block ends."""

    @contextmanager
    def block(tenant):
        with app.app_context(), tenant_context(tenant.id):
            yield
            db.session.commit()

    return block
