"""Versions, deactivation, clone, delete, settings and templates in use."""

from __future__ import annotations

from sqlalchemy import select

from saas.engine.models import Enrollment, SegmentConnection, StepRun
from saas.extensions import db
from saas.segments.models import Segment
from saas.sequences.models import Sequence
from saas.tenancy import tenant_context


def _active(designer, name="Trade show follow-up"):
    sid = designer.create(name)
    email = designer.add(sid, "email", name="Introductory email")
    designer.add(sid, "wait", days="0", hours="1")
    designer.add(sid, "call", name="Follow-up call")
    assert designer.activate(sid).status_code == 302
    return sid, email


def _enroll(app, tenant, add_records, sequence_id, n=2, status="active"):
    """Records running in a version, each with an open activity on its first step."""
    ids = add_records(tenant, n)
    with app.app_context(), tenant_context(tenant.id):
        seq = db.session.execute(select(Sequence).where(Sequence.id == sequence_id)).scalar_one()
        from saas.sequences.queries import steps_of

        first = steps_of(sequence_id)[0]
        for record_id in ids:
            enrollment = Enrollment(record_id=record_id, sequence_id=seq.id,
                                    lineage_id=seq.lineage_id, status=status,
                                    current_step_id=first.id)
            db.session.add(enrollment)
            db.session.flush()
            db.session.add(StepRun(enrollment_id=enrollment.id, step_id=first.id,
                                   sequence_id=seq.id, record_id=record_id,
                                   step_type=first.type, status="open"))
        db.session.commit()
    return ids


def test_edit_after_activation_makes_a_draft_and_leaves_the_active_version(designer, mc):
    sid, email = _active(designer)
    response = mc.post(f"/contoso/sequences/{sid}/edit")
    draft_id = int(response.location.rsplit("/", 1)[1])
    assert draft_id != sid
    draft = designer.sequence(draft_id)
    assert (draft.status, draft.version, draft.lineage_id) == ("draft", 2, sid)
    old_steps, new_steps = designer.steps(sid), designer.steps(draft_id)
    assert [s.name for s in new_steps] == [s.name for s in old_steps]
    assert not {s.id for s in new_steps} & {s.id for s in old_steps}

    new_email = new_steps[0].id
    assert designer.save(draft_id, new_email, name="Changed email").status_code == 302
    assert designer.steps(sid)[0].name == "Introductory email"  # the active one is untouched
    assert designer.sequence(sid).status == "active"
    # "Edit" again opens the same draft instead of making a third version
    again = mc.post(f"/contoso/sequences/{sid}/edit")
    assert again.location.endswith(f"/sequences/{draft_id}")

    page = mc.get("/contoso/sequences").get_data(as_text=True)
    assert page.count(f"/contoso/sequences/{draft_id}\"") == 1
    assert f"/contoso/sequences/{sid}\"" not in page  # one row per lineage: the newest version

    assert designer.activate(draft_id).status_code == 302
    assert designer.sequence(draft_id).status == "active"
    assert designer.sequence(sid).status == "retired"
    history = mc.get(f"/contoso/sequences/{draft_id}").get_data(as_text=True)
    assert "Version 1" in history and "Version 2" in history and "Retired" in history


def test_running_records_stay_on_the_retired_version(app, designer, mc, tenant, add_records):
    sid, _ = _active(designer)
    _enroll(app, tenant, add_records, sid)
    draft_id = int(mc.post(f"/contoso/sequences/{sid}/edit").location.rsplit("/", 1)[1])
    designer.activate(draft_id)
    with app.app_context(), tenant_context(tenant.id):
        assert {e.sequence_id for e in db.session.execute(select(Enrollment)).scalars()} == {sid}
    page = mc.get("/contoso/sequences").get_data(as_text=True)
    assert '<td class="num">2</td>' in page  # connected records count over the lineage


def test_deactivate_disconnects_running_records(app, designer, mc, tenant, add_records):
    sid, _ = _active(designer)
    _enroll(app, tenant, add_records, sid, n=3)
    confirm = mc.get(f"/contoso/sequences/{sid}/deactivate").get_data(as_text=True)
    assert "3 records are running in it and will be disconnected" in confirm
    page = mc.post(f"/contoso/sequences/{sid}/deactivate",
                   follow_redirects=True).get_data(as_text=True)
    assert "3 running records were disconnected" in page
    assert designer.sequence(sid).status == "inactive"
    with app.app_context(), tenant_context(tenant.id):
        enrollments = db.session.execute(select(Enrollment)).scalars().all()
        assert {(e.status, e.exit_reason) for e in enrollments} == {
            ("disconnected", "sequence_deactivated")}
        assert all(e.ended_at for e in enrollments)
        assert {r.status for r in db.session.execute(select(StepRun)).scalars()} == {"cancelled"}


def test_delete_is_refused_while_records_run_then_deletes_every_version(
        app, designer, mc, tenant, add_records):
    sid, _ = _active(designer)
    draft_id = int(mc.post(f"/contoso/sequences/{sid}/edit").location.rsplit("/", 1)[1])
    _enroll(app, tenant, add_records, sid, n=1)
    with app.app_context(), tenant_context(tenant.id):
        segment = Segment(name="Trade show leads", record_type="lead", status="active",
                          rules={"op": "and", "rules": []})
        db.session.add(segment)
        db.session.flush()
        db.session.add(SegmentConnection(lineage_id=sid, segment_id=segment.id))
        db.session.commit()
    confirm = mc.get(f"/contoso/sequences/{sid}/delete").get_data(as_text=True)
    assert "1 record is running in “Trade show follow-up”. Deactivate the sequence first" \
        in confirm
    page = mc.post(f"/contoso/sequences/{sid}/delete", follow_redirects=True).get_data(
        as_text=True)
    assert "Deactivate the sequence first" in page
    assert designer.sequence(sid).status == "active"

    mc.post(f"/contoso/sequences/{sid}/deactivate")
    page = mc.post(f"/contoso/sequences/{draft_id}/delete", follow_redirects=True).get_data(
        as_text=True)
    assert "and all its versions are deleted" in page
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(Sequence)).first() is None
        assert db.session.execute(select(SegmentConnection)).first() is None
        # The disconnected enrollment and its step runs went with it (no foreign key does it).
        assert db.session.execute(select(Enrollment)).first() is None
        assert db.session.execute(select(StepRun)).first() is None


def test_clone_makes_a_new_lineage_as_a_draft(designer, mc):
    sid, _ = _active(designer)
    response = mc.post(f"/contoso/sequences/{sid}/clone")
    clone_id = int(response.location.rsplit("/", 1)[1])
    clone = designer.sequence(clone_id)
    assert (clone.name, clone.status, clone.version, clone.lineage_id) == (
        "Copy of Trade show follow-up", "draft", 1, clone_id)
    assert [s.name for s in designer.steps(clone_id)] == [s.name for s in designer.steps(sid)]


def test_a_template_used_by_an_active_sequence_cannot_be_deleted(designer, mc, tenant,
                                                                 make_template):
    keep = make_template(tenant, "email", "Kept")
    in_ab = make_template(tenant, "email", "Version B body")
    draft_only = make_template(tenant, "email", "Draft only")
    draft = designer.create("Draft")
    designer.add(draft, "auto_email", name="Touch", template_id=str(draft_only))
    sid = designer.create("Outbound")
    designer.add(sid, "auto_email", name="Touch", template_id=str(keep))
    designer.add(sid, "ab_test", display_name="Subjects", split_a="50", metric="opens",
                 ends="auto", default_version="A", a_type="email", a_name="A",
                 b_type="auto_email", b_name="B", b_template_id=str(in_ab))
    assert designer.activate(sid).status_code == 302
    for template_id in (keep, in_ab):
        page = mc.post(f"/contoso/templates/{template_id}/delete",
                       follow_redirects=True).get_data(as_text=True)
        assert "Used by the active sequence “Outbound”." in page
        assert mc.get(f"/contoso/templates/{template_id}").status_code == 200
    mc.post(f"/contoso/templates/{draft_only}/delete")  # a draft does not hold a template
    assert mc.get(f"/contoso/templates/{draft_only}").status_code == 404


def test_settings_default_on_and_are_saved(designer, mc):
    sid = designer.create()
    settings = designer.sequence(sid).settings
    assert settings["exit_on_reply"] and settings["exit_on_unsubscribe"] \
        and settings["exit_on_bounce"]
    response = mc.post(f"/contoso/sequences/{sid}/settings", data={
        "name": "Renamed", "description": "d", "exit_on_reply": "y", "window_enabled": "y",
        "window_days": ["0", "1", "2"], "window_start": "09:00", "window_end": "17:30",
        "goal_field": "status", "goal_value": "qualified", "allow_skip_wait": "y",
        "seller_daily_cap": "40"})
    assert response.status_code == 302
    seq = designer.sequence(sid)
    assert seq.name == "Renamed"
    assert seq.settings["exit_on_reply"] is True and seq.settings["exit_on_bounce"] is False
    assert seq.settings["window"] == {"days": [0, 1, 2], "start": "09:00", "end": "17:30"}
    assert seq.settings["goal"] == {"field": "status", "value": "qualified"}
    assert seq.settings["allow_skip_wait"] is True and seq.settings["seller_daily_cap"] == 40


def test_settings_refuse_bad_values_next_to_the_field(designer, mc):
    sid = designer.create()
    response = mc.post(f"/contoso/sequences/{sid}/settings", data={
        "name": "X", "window_enabled": "y", "window_start": "18:00", "window_end": "08:00",
        "goal_field": "status", "goal_value": "", "seller_daily_cap": "lots"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose at least one day of the week." in page
    assert "The window must end after it starts." in page
    assert "Enter the value the field must reach" in page
    assert "Enter a whole number from 1 to 10000" in page


def test_activation_starts_the_ab_tests(app, designer, tenant):
    from saas.engine.models import AbTest

    sid = designer.create()
    step = designer.add(sid, "ab_test", display_name="Subjects", split_a="70", metric="clicks",
                        ends="auto", default_version="B", a_type="email", a_name="Short",
                        b_type="email", b_name="Long")
    designer.add(sid, "call")
    assert designer.activate(sid).status_code == 302
    with app.app_context(), tenant_context(tenant.id):
        tests = db.session.execute(select(AbTest)).scalars().all()
        assert [(t.step_id, t.sequence_id, t.status) for t in tests] == [(step, sid, "running")]
    page = designer.client.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    assert "A/B test: <span class=\"badge\">Running</span>" in page
    assert "Winner</span>" not in page
    with app.app_context(), tenant_context(tenant.id):
        test = db.session.execute(select(AbTest)).scalar_one()
        test.status, test.outcome, test.winner = "completed", "winner", "B"
        db.session.commit()
    page = designer.client.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    assert "A/B test: <span class=\"badge\">Completed</span> · Winner" in page
    long_version = page[page.index('data-version="B"'):]
    assert "Winner</span>" in long_version[:long_version.index("</li>")]


def test_an_inactive_sequence_can_be_activated_again_a_retired_version_cannot(designer, mc):
    sid, _ = _active(designer)
    mc.post(f"/contoso/sequences/{sid}/deactivate")
    assert "Activate again" in mc.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    assert designer.activate(sid).status_code == 302
    assert designer.sequence(sid).status == "active"
    draft_id = int(mc.post(f"/contoso/sequences/{sid}/edit").location.rsplit("/", 1)[1])
    designer.activate(draft_id)
    response = designer.activate(sid)
    assert "A newer version replaced this one" in response.get_data(as_text=True)
    assert designer.sequence(sid).status == "retired"
    assert designer.sequence(draft_id).status == "active"


def test_get_on_edit_only_shows_the_designer(designer, mc):
    sid, _ = _active(designer)
    response = mc.get(f"/contoso/sequences/{sid}/edit")
    assert response.status_code == 302 and response.location.endswith(f"/sequences/{sid}")
    assert designer.sequence(sid).status == "active"
    with designer.app.app_context():
        from saas.sequences.queries import versions

        with tenant_context(designer.tenant.id):
            assert len(versions(sid)) == 1


def test_two_edit_clicks_at_once_make_one_draft(app, designer, tenant):
    import threading

    from saas.sequences import services

    sid, _ = _active(designer)
    barrier, drafts, errors = threading.Barrier(2), [], []

    def click():
        try:
            with app.app_context(), tenant_context(tenant.id):
                sequence = db.session.execute(
                    select(Sequence).where(Sequence.id == sid)).scalar_one()
                barrier.wait(timeout=10)
                drafts.append(services.edit_version(sequence).id)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors
    assert len(drafts) == 2 and drafts[0] == drafts[1]
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(Sequence.version).order_by(Sequence.version)
                                  ).scalars().all() == [1, 2]
