"""Export to JSON and import (same tenant, another tenant), checked by the same rules."""

from __future__ import annotations

import io
import json

from saas.auth.models import Role


def _export(mc, sid, slug="contoso"):
    response = mc.get(f"/{slug}/sequences/{sid}/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    return json.loads(response.get_data(as_text=True))


def _import(client, slug, data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(f"/{slug}/sequences/import",
                       data={"file": (io.BytesIO(raw), "sequence.json")},
                       content_type="multipart/form-data")


def _build(designer, tenant, make_template):
    welcome = make_template(tenant, "email", "Welcome")
    sms = make_template(tenant, "sms", "Reminder text")
    sid = designer.create("Trade show follow-up")
    designer.add(sid, "auto_email", name="Welcome email", template_id=str(welcome))
    cond = designer.add(sid, "email_condition", name="Opened?", events=["opened", "clicked"],
                        match="any", limit_days="2", limit_hours="0", move_on_event="y")
    designer.add(sid, "call", place=f"{cond}:yes:0", name="Call")
    designer.add(sid, "auto_sms", place=f"{cond}:no:0", name="Text", template_id=str(sms))
    return sid


def test_round_trip_in_the_same_tenant(designer, mc, tenant, make_template):
    sid = _build(designer, tenant, make_template)
    data = _export(mc, sid)
    assert data["format"] == "saas.sequence"
    assert data["steps"][0]["config"] == {"template": {"name": "Welcome", "kind": "email"}}
    response = _import(mc, "contoso", data)
    assert response.status_code == 302
    new_id = int(response.location.rsplit("/", 1)[1])
    assert new_id != sid and designer.sequence(new_id).status == "draft"
    original, copy = designer.steps(sid), designer.steps(new_id)
    assert [(s.type, s.name, s.branch, s.config) for s in copy] == \
        [(s.type, s.name, s.branch, s.config) for s in original]
    assert _export(mc, new_id)["steps"] == data["steps"]


def test_import_into_another_tenant_resolves_templates_by_name(
        app, designer, mc, tenant, make_template, make_tenant, make_user, login):
    sid = _build(designer, tenant, make_template)
    data = _export(mc, sid)

    other = make_tenant("fabrikam")
    user = make_user(other, roles=[Role.SEQUENCE_MANAGER])
    client = app.test_client()
    login(client, user)
    response = _import(client, "fabrikam", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("Step “Welcome email”: there is no email template named “Welcome” here. Create it "
            "(same name), then import again.") in page
    assert "there is no SMS template named “Reminder text”" in page

    welcome = make_template(other, "email", "Welcome")
    make_template(other, "sms", "Reminder text")
    response = _import(client, "fabrikam", data)
    assert response.status_code == 302
    exported = _export(client, int(response.location.rsplit("/", 1)[1]), slug="fabrikam")
    assert exported["steps"] == data["steps"]
    assert welcome  # resolved by name, to fabrikam's own id


def test_import_is_checked_by_the_rules(mc, designer):
    data = {"format": "saas.sequence", "name": "Bad", "record_type": "lead", "steps": [
        {"type": "wait", "name": "Too long", "config": {"days": 31, "hours": 0}},
        {"type": "ab_test", "name": "Split", "config": {
            "display_name": "Split", "split_a": 95, "metric": "opens", "ends": "auto",
            "default_version": "A", "versions": {
                "A": {"type": "email", "name": "A", "template": None},
                "B": {"type": "email", "name": "B", "template": None}}}},
        {"type": "wait", "name": "Last", "config": {"days": 1, "hours": 0}},
    ]}
    response = _import(mc, "contoso", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Step “Too long”: A wait lasts between 1 hour and 30 days." in page
    assert "Step “Split”: Each version gets between 10% and 90% of the audience." in page
    assert "Step “Last”: A branch cannot end with a wait" in page
    assert "No sequences yet." in mc.get("/contoso/sequences").get_data(as_text=True)


def test_import_refuses_files_that_are_not_exports(mc):
    page = _import(mc, "contoso", b"not json").get_data(as_text=True)
    assert "The file is not valid JSON" in page
    page = _import(mc, "contoso", {"name": "x"}).get_data(as_text=True)
    assert "This is not a sequence export" in page
    page = _import(mc, "contoso", {"format": "saas.sequence", "name": "x",
                                   "record_type": "lead", "steps": "many"}).get_data(
        as_text=True)
    assert "“steps” are not a list of steps." in page
    page = _import(mc, "contoso", {"format": "saas.sequence", "name": "x",
                                   "record_type": "lead", "steps": []}).get_data(as_text=True)
    assert "Add at least one step." in page


def test_move_target_travels_by_name(designer, mc):
    target = designer.create("Nurture")
    sid = designer.create("Outbound")
    designer.add(sid, "call")
    designer.add(sid, "move_to_sequence", name="Move", sequence_id=str(target))
    data = _export(mc, sid)
    assert data["steps"][1]["config"] == {"sequence": {"name": "Nurture"}}
    response = _import(mc, "contoso", data)
    assert response.status_code == 302
    new_id = int(response.location.rsplit("/", 1)[1])
    assert designer.steps(new_id)[1].config == {"sequence_id": target}


def test_import_keeps_well_formed_settings_only(designer, mc):
    data = {"format": "saas.sequence", "name": "Settings", "record_type": "lead",
            "settings": {"exit_on_reply": False, "exit_on_bounce": "no", "working_time": True,
                         "window": {"days": [0, 4], "start": "08:00", "end": "17:00"},
                         "goal": {"field": "status", "value": "qualified"},
                         "seller_daily_cap": "many", "secret": 1},
            "steps": [{"type": "call", "name": "Call", "config": {}}]}
    response = _import(mc, "contoso", data)
    settings = designer.sequence(int(response.location.rsplit("/", 1)[1])).settings
    assert settings == {"exit_on_reply": False, "exit_on_unsubscribe": True,
                        "exit_on_bounce": True, "stop_account": False,
                        "allow_skip_wait": False, "working_time": True,
                        "window": {"days": [0, 4], "start": "08:00", "end": "17:00"},
                        "goal": {"field": "status", "value": "qualified"},
                        "seller_daily_cap": None}
