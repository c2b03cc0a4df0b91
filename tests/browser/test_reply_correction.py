"""A sequence manager corrects an out-of-office misread: Ana's real answer came with an
auto-reply header, so it paused her sequence; the manager opens her record, reads how the reply
was read, says it was a real reply, confirms, and reads that Ana left the sequence (replied)."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from saas.auth.models import Role
from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.models import StepRun
from saas.extensions import db
from saas.messaging import tracking
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from saas.web.dates import format_date
from tests.browser.test_records import sign_in
from tests.engine.factories import build_sequence
from tests.messaging.conftest import configure
from tests.messaging.test_replies import message, next_day

pytestmark = pytest.mark.browser


def test_a_manager_says_an_out_of_office_was_a_real_reply(app, live_server, page, make_tenant,
                                                         make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    configure(app, tenant.id, inbound_domain="reply.contoso.example")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    [ana] = add_records(tenant, 1, owner_id=sam.id, first_name=lambda i: "Ana",
                        last_name=lambda i: "Lima")
    with app.app_context(), tenant_context(tenant.id):
        template = MessageTemplate(kind="email", name="Welcome", subject="Hi",
                                   html_body="<p>Hello</p>", text_body="Hello")
        db.session.add(template)
        db.session.flush()
        sequence = build_sequence([{"type": "auto_email", "name": "Welcome email",
                                    "config": {"template_id": template.id}},
                                   {"type": "call", "name": "Intro call"}],
                                  name="Trade show follow-up")
        connect_many([ana], sequence.lineage_id)
        run_id = db.session.execute(update(StepRun).where(StepRun.record_id == ana).values(
            status="sent", provider="sendgrid", provider_message_id="m1",
            completed_at=clock.now()).returning(StepRun.id)).scalar_one()
        db.session.commit()
        back = format_date(next_day(1, 12), locale_name="en")
    with app.test_request_context():
        address = tracking.reply_address(tenant.id, run_id, "reply.contoso.example")

    # Her mail server marked her answer auto-replied: SendGrid posts it to the webhook.
    answer = page.request.post(f"{live_server}/contoso/webhooks/sendgrid/inbound",
                               form=message("gmail_vacation", address))
    assert answer.status == 200

    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/records/{ana}")
    block = page.locator("#record-sequences")
    expect(block).to_contain_text("Paused")
    note = block.locator(".reply-note")
    expect(note).to_contain_text(
        f"Out-of-office reply (Auto-Submitted: auto-replied) — paused until {back}")

    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    note.get_by_role("button", name="This was a real reply").click()
    expect(page.get_by_text("Marked as a real reply: the record left the sequence (replied).")
           ).to_be_visible()
    assert questions == ["Treat this as a real reply? The record leaves the sequence as replied "
                         "(if the sequence exits on replies)."]
    expect(block).to_contain_text("Exited: replied")
    expect(block.locator(".reply-note")).to_contain_text(
        "Real reply (corrected by a manager)")
    expect(block.get_by_role("button", name="This was a real reply")).to_have_count(0)
    expect(block.get_by_role("button", name="Resume")).to_have_count(0)
