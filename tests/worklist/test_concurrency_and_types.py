"""Two submits at the same moment complete once; the record type filter."""

from __future__ import annotations

import threading

from sqlalchemy import select

from saas.auth.models import Role
from saas.engine.models import Enrollment, StepRun
from saas.messaging.models import OutboxMessage
from tests.worklist import factories as f


def test_two_simultaneous_sends_send_once_and_advance_once(world):
    with world.data():
        template = f.email_template()
        seq = f.sequence([{"type": "email", "name": "Intro",
                           "config": {"template_id": template.id}},
                          {"type": "task", "name": "Next"}])
        enrollment = f.connect(f.lead(), seq, world.seller.id)
        enrollment_id, run_id = enrollment.id, f.current_run(enrollment.id).id
    clients = [world.client_for(world.seller), world.client_for(world.seller)]
    start = threading.Barrier(2)
    answers: list[str] = []

    def send(client):
        start.wait()
        answers.append(client.post(f"/acme/activities/{run_id}/send", headers={
            "HX-Request": "true"}, data={"from": "record", "subject": "Hi", "body": "Hello"})
            .get_data(as_text=True))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum("Sent. The record moves on" in a for a in answers) == 1
    assert sum("already done" in a for a in answers) == 1
    with world.data() as session:
        assert len(session.execute(select(OutboxMessage)).all()) == 1
        assert session.execute(select(Enrollment.steps_done)
                               .where(Enrollment.id == enrollment_id)).scalar_one() == 1
        statuses = session.execute(select(StepRun.status).where(
            StepRun.enrollment_id == enrollment_id).order_by(StepRun.id)).scalars().all()
        assert statuses == ["completed", "open"]


def test_record_type_filter(app, make_tenant, make_user, login):
    from saas.extensions import db
    from saas.tenancy import tenant_context

    tenant = make_tenant("deals", opportunities=True)
    seller = make_user(tenant, roles=[Role.SELLER])
    with app.app_context(), tenant_context(tenant.id):
        leads = f.sequence([{"type": "task", "name": "Lead task"}])
        deals = f.sequence([{"type": "task", "name": "Deal task"}], record_type="opportunity")
        f.connect(f.lead(first_name="Lee"), leads, seller.id)
        f.connect(f.lead(first_name="Opal", record_type="opportunity", status="open"), deals,
                  seller.id)
        db.session.commit()
    client = app.test_client()
    login(client, seller)
    page = client.get("/deals/worklist?record_type=opportunity").get_data(as_text=True)
    assert "Deal task" in page and "Lead task" not in page
    assert 'id="record_type"' in page
    page = client.get("/deals/worklist?record_type=lead").get_data(as_text=True)
    assert "Lead task" in page and "Deal task" not in page
