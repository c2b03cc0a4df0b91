"""Tenant-isolation builders for the messaging routes, merged into tests/test_tenant_isolation.py.

Each builder creates the object in the tenant in context and returns a Case
(`from tests.test_tenant_isolation import Case` inside the builder, to avoid a cycle).
Tracking tokens name their tenant: through another tenant's URLs they are a 404.
"""

from __future__ import annotations

from flask import current_app


def _tracking_case(kind: str):
    def build(tenant):
        from saas.messaging import tracking
        from tests.test_tenant_isolation import Case

        with current_app.test_request_context():
            tracker = tracking.Tracker(tenant.id, tenant.slug)
            if kind == "open":
                token = tracking.make(tracking.OPEN, tenant.id, 1)
                return Case({"token": token}, anonymous_owner=True)
            if kind == "click":
                url = "https://example.com/offer"
                token = tracking.make(tracking.CLICK, tenant.id, 1, url)
                return Case({"token": token, "u": url}, anonymous_owner=True)
            address = "lead@example.com"
            token = tracker.unsubscribe_url(1, address).split("/u/")[1].split("?")[0]
            return Case({"token": token, "a": address}, anonymous_owner=True)
    return build


CASES: dict = {
    "tracking.open_pixel": _tracking_case("open"),
    "tracking.click": _tracking_case("click"),
    "tracking.unsubscribe": _tracking_case("unsubscribe"),
}


def _suppression_case(method: str):
    def build(tenant):
        from saas.extensions import db
        from saas.messaging.suppression import suppress
        from tests.test_tenant_isolation import Case

        suppress("isolated@example.com", "email", "manual")
        db.session.flush()
        from sqlalchemy import select

        from saas.messaging.models import Suppression

        entry = db.session.execute(select(Suppression)).scalar_one()
        return Case({"entry_id": entry.id}, method)
    return build


CASES.update({
    "messaging.remove_suppression": _suppression_case("GET"),
})


def _template_version_case(method: str = "GET"):
    """A template in English with a version in French: adding a version (in German) through
    another tenant's URL is a 404, and the versions' own pages go through the template routes."""
    def build(tenant):
        from saas.extensions import db
        from saas.templates_.models import MessageTemplate
        from tests.test_tenant_isolation import Case

        template = MessageTemplate(kind="sms", name="Isolated", language="en", body="Hi")
        db.session.add(template)
        db.session.flush()
        db.session.add(MessageTemplate(kind="sms", name="Isolated", language="fr", body="Salut",
                                       translation_of_id=template.id))
        db.session.flush()
        return Case({"template_id": template.id, "language": "de"}, method)
    return build


CASES.update({
    "message_templates.new_version": _template_version_case(),
})
