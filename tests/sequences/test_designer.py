"""The designer through its forms: new sequences, steps added, edited, moved and deleted, rule
messages on the step form, activation with its list of problems, the list page."""

from __future__ import annotations

import re

from saas.sequences import rules


def test_list_is_empty_then_shows_one_row_per_sequence(designer, mc):
    page = mc.get("/contoso/sequences").get_data(as_text=True)
    assert "No sequences yet." in page
    sid = designer.create("Trade show follow-up")
    designer.create("Renewal", start="renewal")
    page = mc.get("/contoso/sequences").get_data(as_text=True)
    assert "No sequences yet." not in page
    assert "Trade show follow-up" in page and "Renewal" in page
    assert f"/contoso/sequences/{sid}" in page


def test_new_offers_scratch_and_the_built_in_templates(mc):
    page = mc.get("/contoso/sequences/new").get_data(as_text=True)
    for name in ("Start from scratch", "Trade show follow-up", "No-show follow-up",
                 "Event invitation", "Demo request", "Renewal", "High-volume outbound"):
        assert name in page


def test_a_built_in_template_creates_its_steps(designer):
    sid = designer.create("Shows", start="trade_show")
    steps = designer.steps(sid)
    assert [s.name for s in steps if s.parent_id is None][:3] == [
        "Introductory email", "Wait", "Follow-up call"]
    assert {s.branch for s in steps} == {"main", "yes", "no"}


def test_record_type_opportunity_only_when_enabled(designer, mc):
    response = mc.post("/contoso/sequences/new/details",
                       data={"name": "Deals", "record_type": "opportunity"})
    assert response.status_code == 422
    assert "Choose a record type enabled in this workspace." in response.get_data(as_text=True)
    response = mc.post("/contoso/sequences/new/details", data={"name": "", "record_type": "lead"})
    assert "Enter a name." in response.get_data(as_text=True)


def test_add_edit_and_see_the_tiles(designer, mc):
    sid = designer.create()
    email = designer.add(sid, "email", name="Introductory email",
                         description="Introduce the prospect")
    designer.add(sid, "wait", days="0", hours="1")
    designer.add(sid, "call", name="Follow-up call")
    page = mc.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    page = page[page.index('class="canvas"'):]
    assert page.index("Introductory email") < page.index("Wait 1 hour") \
        < page.index("Follow-up call")
    assert f'id="step-{email}"' in page
    pane = mc.get(f"/contoso/sequences/{sid}?step={email}").get_data(as_text=True)
    assert 'value="Introductory email"' in pane and "Save and close" in pane
    add = mc.get(f"/contoso/sequences/{sid}?add=root:main:0&tab=conditions").get_data(
        as_text=True)
    assert "Email condition" in add and "Phone call outcome" in add
    assert "Update a record field" not in add


def test_add_in_the_middle_moves_the_others_down(designer):
    sid = designer.create()
    first = designer.add(sid, "email")
    last = designer.add(sid, "call")
    middle = designer.add(sid, "task", place="root:main:1")
    assert [s.id for s in designer.steps(sid)] == [first, middle, last]


def test_move_up_and_down_within_a_branch(designer, mc):
    sid = designer.create()
    a, b = designer.add(sid, "email"), designer.add(sid, "call")
    mc.post(f"/contoso/sequences/{sid}/steps/{b}/move", data={"direction": "up"})
    assert [s.id for s in designer.steps(sid)] == [b, a]
    response = mc.post(f"/contoso/sequences/{sid}/steps/{b}/move", data={"direction": "up"},
                       follow_redirects=True)
    assert "already at the top of its branch" in response.get_data(as_text=True)


def test_delete_a_plain_step_moves_the_next_up(designer, mc):
    sid = designer.create()
    a, b, c = designer.add(sid, "email"), designer.add(sid, "task"), designer.add(sid, "call")
    page = mc.post(f"/contoso/sequences/{sid}/steps/{b}/delete",
                   follow_redirects=True).get_data(as_text=True)
    assert "The steps after it moved up." in page
    assert [(s.id, s.position) for s in designer.steps(sid)] == [(a, 0), (c, 1)]


def _condition_with_branches(designer):
    sid = designer.create()
    designer.add(sid, "email")
    cond = designer.add(sid, "email_condition")
    yes = designer.add(sid, "call", place=f"{cond}:yes:0")
    no = designer.add(sid, "task", place=f"{cond}:no:0")
    return sid, cond, yes, no


def test_delete_a_condition_asks_and_deletes_its_branches(designer, mc):
    sid, cond, yes, no = _condition_with_branches(designer)
    pane = mc.get(f"/contoso/sequences/{sid}?step={cond}").get_data(as_text=True)
    assert "What happens to the steps under it?" in pane
    page = mc.post(f"/contoso/sequences/{sid}/steps/{cond}/delete", data={"keep": "none"},
                   follow_redirects=True).get_data(as_text=True)
    assert "Its Yes and No branches were deleted with it." in page
    assert [s.type for s in designer.steps(sid)] == ["email"]


def test_delete_a_condition_keeping_its_yes_branch(designer, mc):
    sid, cond, yes, no = _condition_with_branches(designer)
    mc.post(f"/contoso/sequences/{sid}/steps/{cond}/delete", data={"keep": "yes"})
    steps = designer.steps(sid)
    assert [(s.type, s.parent_id, s.position) for s in steps] == [
        ("email", None, 0), ("call", None, 1)]


def test_branches_are_drawn_side_by_side(designer, mc):
    sid, cond, yes, no = _condition_with_branches(designer)
    page = mc.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    assert f'id="branch-{cond}-yes"' in page and f'id="branch-{cond}-no"' in page
    assert page.index(f'id="branch-{cond}-yes"') < page.index(f"step-{yes}") \
        < page.index(f'id="branch-{cond}-no"') < page.index(f"step-{no}")


def test_nothing_can_be_added_after_a_condition_in_its_branch(designer, mc):
    sid, cond, yes, no = _condition_with_branches(designer)
    response = mc.post(f"/contoso/sequences/{sid}/steps",
                       data={"type": "task", "place": "root:main:2"}, follow_redirects=True)
    assert "Nothing can follow a condition" in response.get_data(as_text=True)


def _step_form_error(designer, sid, kind, **form):
    step = designer.add(sid, kind)
    response = designer.save(sid, step, **form)
    assert response.status_code == 422
    return response.get_data(as_text=True)


def test_step_form_refuses_a_bad_wait(designer):
    sid = designer.create()
    designer.add(sid, "email")
    assert rules.WAIT_RANGE in _step_form_error(designer, sid, "wait", days="0", hours="0")
    assert rules.WAIT_RANGE in _step_form_error(designer, sid, "wait", days="30", hours="1")


def test_step_form_refuses_an_automated_email_without_template(designer):
    sid = designer.create()
    page = _step_form_error(designer, sid, "auto_email", name="Hello", template_id="")
    assert "An automated email needs a template: choose one." in page
    page = _step_form_error(designer, sid, "auto_sms", name="Hello", template_id="")
    assert "An automated text message needs a template: choose one." in page


def test_step_form_refuses_a_template_of_the_wrong_channel(designer, tenant, make_template):
    sms = make_template(tenant, "sms", "Short hello")
    sid = designer.create()
    page = _step_form_error(designer, sid, "auto_email", name="Hello", template_id=str(sms))
    assert "“Short hello” is not an email template: choose an email template." in page


def _ab_form(**overrides):
    form = {"display_name": "Subject test", "split_a": "70", "metric": "opens", "ends": "auto",
            "default_version": "A", "a_type": "email", "a_name": "Short",
            "b_type": "email", "b_name": "Long"}
    form.update(overrides)
    return form


def test_step_form_refuses_an_ab_split_out_of_range(designer):
    sid = designer.create()
    assert rules.SPLIT_RANGE in _step_form_error(designer, sid, "ab_test", **_ab_form(split_a="5"))
    assert rules.SPLIT_RANGE in _step_form_error(designer, sid, "ab_test",
                                                 **_ab_form(split_a="95"))


def test_step_form_refuses_ab_versions_that_are_not_emails(designer):
    sid = designer.create()
    page = _step_form_error(designer, sid, "ab_test", **_ab_form(b_type="sms"))
    assert "Version B must be an email or an automated email." in page


def test_ab_test_tile_shows_both_versions(designer, mc):
    sid = designer.create()
    step = designer.add(sid, "ab_test", **_ab_form())
    page = mc.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    assert "Version A</strong> · Short · 70%" in page
    assert "Version B</strong> · Long · 30%" in page
    assert designer.steps(sid)[0].config["split_a"] == 70
    assert designer.steps(sid)[0].name == "Subject test"
    assert step


def test_step_form_refuses_a_condition_time_limit_out_of_range(designer):
    sid = designer.create()
    designer.add(sid, "email")
    page = _step_form_error(designer, sid, "email_condition", name="Opened?", events="opened",
                            match="any", limit_days="31", limit_hours="0")
    assert rules.LIMIT_RANGE in page


def test_step_form_refuses_moving_into_itself(designer, app, tenant):
    sid = designer.create()
    designer.add(sid, "email")
    lineage = designer.sequence(sid).lineage_id
    page = _step_form_error(designer, sid, "move_to_sequence", name="Move",
                            sequence_id=str(lineage))
    assert rules.MOVE_ITSELF in page


def test_step_form_lists_what_activation_needs(designer, mc):
    sid = designer.create()
    designer.add(sid, "email")
    wait = designer.add(sid, "wait")
    response = designer.save(sid, wait, action="save", days="1", hours="0")
    assert response.status_code == 302
    pane = mc.get(response.location).get_data(as_text=True)
    assert "Before activation:" in pane and rules.BRANCH_ENDS_WITH_WAIT in pane


def test_activation_lists_every_problem_with_a_link_to_its_tile(designer, mc):
    sid = designer.create()
    cond = designer.add(sid, "email_condition")
    wait = designer.add(sid, "wait", place=f"{cond}:yes:0")
    call_cond = designer.add(sid, "call_condition", place=f"{cond}:no:0")
    page = mc.get(f"/contoso/sequences/{sid}/activate").get_data(as_text=True)
    assert rules.EMAIL_CONDITION_ORDER in page
    assert rules.BRANCH_ENDS_WITH_WAIT in page
    assert rules.CALL_CONDITION_ORDER in page
    for step in (cond, wait, call_cond):
        assert re.search(rf'href="[^"]*step={step}#step-{step}"', page)
    response = designer.activate(sid)
    assert response.status_code == 422
    assert designer.sequence(sid).status == "draft"


def test_activation_needs_a_step_and_the_confirmation(designer, mc):
    sid = designer.create()
    response = designer.activate(sid)
    assert rules.NEEDS_STEPS in response.get_data(as_text=True)
    designer.add(sid, "call")
    response = designer.activate(sid, understood=False)
    assert "Tick “I understand” to confirm the activation." in response.get_data(as_text=True)
    assert designer.sequence(sid).status == "draft"
    response = designer.activate(sid)
    assert response.status_code == 302
    seq = designer.sequence(sid)
    assert seq.status == "active" and seq.activated_at is not None
    page = mc.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    assert "This sequence is active." in page and "read-only" in page
    assert "Add a step" not in page


def test_an_active_sequence_refuses_step_changes(designer, mc):
    sid = designer.create()
    step = designer.add(sid, "call")
    designer.activate(sid)
    response = designer.save(sid, step, name="Changed")
    assert response.status_code == 302
    assert designer.steps(sid)[0].name == "Phone call"
    page = mc.post(f"/contoso/sequences/{sid}/steps", data={"type": "task",
                   "place": "root:main:1"}, follow_redirects=True).get_data(as_text=True)
    assert "This version is read-only" in page
    assert len(designer.steps(sid)) == 1


def test_every_step_type_has_a_form_and_a_tile(designer, mc):
    from saas.sequences.steps import KINDS

    sid = designer.create()
    designer.add(sid, "email")
    designer.add(sid, "call")
    for kind in KINDS:
        if kind.type in rules.CONDITIONS or kind.type == "move_to_sequence":
            continue
        step = designer.add(sid, kind.type)
        pane = mc.get(f"/contoso/sequences/{sid}?step={step}").get_data(as_text=True)
        assert kind.label in pane and "Save and close" in pane
    for kind in ("email_condition", "call_condition", "field_condition"):
        other = designer.create(f"With {kind}")
        designer.add(other, "email")
        designer.add(other, "call")
        step = designer.add(other, kind)
        pane = mc.get(f"/contoso/sequences/{other}?step={step}").get_data(as_text=True)
        assert "Save and close" in pane


def _options(response, select_id: str) -> list[str]:
    import re

    html = response.get_data(as_text=True)
    select = re.search(rf'<select id="{select_id}".*?</select>', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


def test_field_condition_and_update_field_forms_save(designer, mc):
    sid = designer.create()
    designer.add(sid, "call")
    cond = designer.add(sid, "field_condition")
    response = designer.save(sid, cond, name="Qualified?", fc_op="and",
                             fc_field=["status", ""], fc_operator=["equals", "equals"],
                             fc_value=["qualified", ""])
    assert response.status_code == 302
    assert designer.steps(sid)[1].config == {"rules": {"op": "and", "rules": [
        {"field": "status", "operator": "equals", "value": "qualified"}]}}
    bad = designer.save(sid, cond, name="Qualified?", fc_field=["nope"],
                        fc_operator=["equals"], fc_value=["x"])
    assert bad.status_code == 422
    assert "is not a field of these records" in bad.get_data(as_text=True)
    update = designer.add(sid, "update_field", place=f"{cond}:yes:0")
    wrong = designer.save(sid, update, name="Mark", field="status", value="Hot")
    assert wrong.status_code == 422
    assert "Status takes one of these values: new, contacted" in wrong.get_data(as_text=True)
    offered = _options(wrong, "f-field")
    assert "Status" in offered and "Email" not in offered  # the address is not settable
    assert designer.save(sid, update, name="Mark", field="status",
                         value="contacted").status_code == 302
    page = mc.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    assert "Set status to “contacted”" in page and "1 field condition" in page


def test_opportunity_sequences_when_the_workspace_has_them(app, make_tenant, make_user, login):
    from saas.auth.models import Role

    tenant = make_tenant("deals", opportunities=True)
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    client = app.test_client()
    login(client, user)
    form = client.get("/deals/sequences/new/details").get_data(as_text=True)
    assert 'value="opportunity"' in form
    response = client.post("/deals/sequences/new/details",
                           data={"name": "Deals", "record_type": "opportunity"})
    assert response.status_code == 302
    assert "Opportunities" in client.get("/deals/sequences").get_data(as_text=True)
