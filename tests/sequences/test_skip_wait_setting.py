"""Skip wait time: on by default for a sequence made in the app, shown on the wait's tile and its
form, and switched on or off while the version is active (no wait moves)."""

from __future__ import annotations

from sqlalchemy import select, update

from saas.engine.models import StepRun
from saas.extensions import db
from saas.sequences.models import Sequence
from saas.tenancy import tenant_context
from tests.sequences.test_lifecycle import _active, _enroll


def test_a_new_sequence_lets_sellers_skip_a_wait_and_the_wait_says_so(designer, mc):
    sid = designer.create()
    assert designer.sequence(sid).settings["allow_skip_wait"] is True
    wait = designer.add(sid, "wait", days="0", hours="1")
    page = mc.get(f"/contoso/sequences/{sid}?step={wait}").get_data(as_text=True)
    tile = page.split(f'id="step-{wait}"', 1)[1].split("</a>", 1)[0]
    assert "Sellers may skip it" in tile
    assert "Skip wait time: sellers may end this wait early from the record." in page

    settings = mc.get(f"/contoso/sequences/{sid}/settings").get_data(as_text=True)
    form = {"name": "Trade show follow-up", "description": "", "exit_on_reply": "y"}
    assert mc.post(f"/contoso/sequences/{sid}/settings", data=form).status_code == 302
    assert designer.sequence(sid).settings["allow_skip_wait"] is False
    page = mc.get(f"/contoso/sequences/{sid}?step={wait}").get_data(as_text=True)
    assert "Sellers may skip it" not in page
    assert "Skip wait time: off, sellers wait it out." in page
    assert 'name="allow_skip_wait"' in settings


def test_an_active_version_switches_skip_wait_without_moving_any_wait(
        app, designer, mc, tenant, add_records):
    sid, _email = _active(designer)
    _enroll(app, tenant, add_records, sid, n=2)
    with app.app_context(), tenant_context(tenant.id):
        runs = db.session.execute(select(StepRun.id).where(StepRun.sequence_id == sid)).scalars()
        db.session.execute(update(StepRun).where(StepRun.id.in_(list(runs)))
                           .values(status="waiting", step_type="wait"))
        db.session.commit()
        before = sorted(db.session.execute(select(StepRun.id, StepRun.due_at, StepRun.status)
                                           .where(StepRun.sequence_id == sid)).all())
    page = mc.get(f"/contoso/sequences/{sid}/settings").get_data(as_text=True)
    assert 'id="skip-wait-setting"' in page
    main_form = page.split('id="skip-wait-setting"')[0]
    assert 'name="allow_skip_wait"' not in main_form  # read-only there, editable here

    answer = mc.post(f"/contoso/sequences/{sid}/settings/skip-wait", data={})
    assert answer.status_code == 302
    assert "Sellers can no longer skip a wait time in this sequence." in \
        mc.get(answer.location).get_data(as_text=True)
    assert designer.sequence(sid).settings["allow_skip_wait"] is False
    assert designer.sequence(sid).settings["exit_on_reply"] is True  # the rest kept

    mc.post(f"/contoso/sequences/{sid}/settings/skip-wait", data={"allow_skip_wait": "y"})
    assert designer.sequence(sid).settings["allow_skip_wait"] is True
    with app.app_context(), tenant_context(tenant.id):
        after = sorted(db.session.execute(select(StepRun.id, StepRun.due_at, StepRun.status)
                                          .where(StepRun.sequence_id == sid)).all())
    assert after == before


def test_a_draft_or_inactive_version_is_refused_here(app, designer, mc, tenant):
    sid = designer.create()
    answer = mc.post(f"/contoso/sequences/{sid}/settings/skip-wait", data={})
    page = mc.get(answer.location).get_data(as_text=True)
    assert "This version is no longer active: nothing changed." in page
    assert designer.sequence(sid).settings["allow_skip_wait"] is True
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(Sequence.status).where(
            Sequence.id == sid)).scalar_one() == "draft"
