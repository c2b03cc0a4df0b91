"""A template over the rendering limits fails its send with the limit as the reason (issue 17,
hole 4), even one that never went through the template form (older data, direct writes): the
worker neither renders 40 MB nor calls the provider."""

from __future__ import annotations

from sqlalchemy import select

from saas.engine.models import StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.messaging import builders


def _send_through(app, tenant, template_of, step_type, **lead):
    with app.app_context(), tenant_context(tenant.id):
        template = template_of()
        seq = builders.sequence([{"type": step_type, "config": {"template_id": template.id}}])
        [run] = builders.connect([builders.lead("x@example.com", **lead)], seq)
        db.session.commit()
        run_id = run.id
    with app.app_context():
        run_tick(budget_seconds=30)
    with app.app_context(), tenant_context(tenant.id):
        run = db.session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        return run.status, run.error


def test_a_40_mb_template_fails_its_send(app, sendgrid_tenant, fake):
    huge = "<p>" + "x" * (40 * 1024 * 1024) + "</p>"
    status, error = _send_through(app, sendgrid_tenant,
                                  lambda: builders.email_template(html=huge), "auto_email")
    assert status == "failed"
    assert error == "The template is 40 MB long; a template may be at most 256 KB."
    assert fake.emails() == []


def test_a_template_rendering_megabytes_fails_its_send(app, sendgrid_tenant, fake):
    status, error = _send_through(
        app, sendgrid_tenant,
        lambda: builders.email_template(html="<p>{{ 'x'|center(20000000) }}</p>"), "auto_email")
    assert status == "failed"
    assert error == "A center width of 20,000,000 is refused: at most 10,000."
    assert fake.emails() == []


def test_nested_loops_fail_their_send(app, sendgrid_tenant, fake):
    loops = ("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x"
             "{% endfor %}{% endfor %}{% endfor %}")
    status, error = _send_through(
        app, sendgrid_tenant, lambda: builders.email_template(html=f"<p>{loops}</p>"),
        "auto_email")
    assert status == "failed" and "loops run more than 10,000 times" in error
    assert fake.emails() == []


def test_an_sms_longer_than_1600_characters_fails_its_send(app, twilio_tenant, fake):
    status, error = _send_through(
        app, twilio_tenant, lambda: builders.sms_template(body="{{ 'z' * 1601 }}"), "auto_sms",
        phone="+33611111111")
    assert status == "failed"
    assert error == "The message is longer than 1,600 characters (an SMS's limit) once rendered."
    assert fake.texts() == []
