"""The four LinkedIn activities in the designer: offered on the Steps tab with their icon, added
with their name, edited like a task, accepted by the rules and activation, exported and imported,
named in French."""

from __future__ import annotations

from html import unescape

import pytest

from saas.sequences import rules
from saas.sequences.models import LINKEDIN_TYPES, StepType
from saas.sequences.steps import BY_TYPE
from tests.sequences.test_transfer import _export, _import

LABELS = {"linkedin_research": "LinkedIn – research the person",
          "linkedin_introduction": "LinkedIn – get introduced",
          "linkedin_connect": "LinkedIn – send a connection request",
          "linkedin_inmail": "LinkedIn – send an InMail"}
FRENCH = {"linkedin_research": "LinkedIn – rechercher la personne",
          "linkedin_introduction": "LinkedIn – se faire présenter",
          "linkedin_connect": "LinkedIn – envoyer une demande de connexion",
          "linkedin_inmail": "LinkedIn – envoyer un InMail"}


def test_the_four_types_are_manual_activities():
    assert [t.value for t in LINKEDIN_TYPES] == list(LABELS)
    for kind in LABELS:
        assert StepType(kind).is_manual and StepType(kind).is_linkedin
        assert not StepType(kind).is_automated_send and not StepType(kind).is_condition
    assert not StepType.TASK.is_linkedin


def test_the_steps_tab_offers_them_with_their_own_icon(designer, mc):
    sid = designer.create()
    page = mc.get(f"/contoso/sequences/{sid}?add=root:main:0&tab=steps").get_data(as_text=True)
    icons = {BY_TYPE[kind].icon for kind in LABELS}
    assert len(icons) == 4 and not icons & {BY_TYPE[k].icon for k in ("task", "call", "email")}
    for kind, label in LABELS.items():
        assert f'name="type" value="{kind}"' in page
        block = page[page.index(f'name="type" value="{kind}"'):]
        assert block.index(BY_TYPE[kind].icon) < block.index(label) < block.index("</form>")
    conditions = mc.get(f"/contoso/sequences/{sid}?add=root:main:0&tab=conditions")
    assert "LinkedIn" not in conditions.get_data(as_text=True)


@pytest.mark.parametrize("kind", list(LABELS))
def test_each_is_added_edited_and_activated(designer, mc, kind):
    sid = designer.create()
    step_id = designer.add(sid, kind)
    (step,) = designer.steps(sid)
    assert (step.id, step.type, step.name, step.config) == (step_id, kind, LABELS[kind], {})
    pane = mc.get(f"/contoso/sequences/{sid}?step={step_id}").get_data(as_text=True)
    assert LABELS[kind] in pane and 'name="description"' in pane
    saved = designer.save(sid, step_id, name="Find Ana on LinkedIn",
                          description="Check her last posts")
    assert saved.status_code == 302
    canvas = mc.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    assert "Find Ana on LinkedIn" in canvas and "Check her last posts" in canvas
    assert designer.activate(sid).status_code == 302
    assert designer.sequence(sid).status == "active"


def test_the_rules_accept_them_where_a_task_goes(app):
    steps = [{"id": i, "parent_id": None, "branch": "main", "position": i, "type": kind,
              "name": kind, "config": {}} for i, kind in enumerate(
        ["linkedin_research", "wait", "linkedin_connect", "linkedin_inmail",
         "linkedin_introduction"])]
    steps[1]["config"] = {"days": 1, "hours": 0}
    with app.test_request_context():
        assert rules.check_sequence(steps, rules.Context()) == []
        assert rules.check_step({"type": "linkedin_unknown", "config": {}}, rules.Context())


def test_export_and_import_keep_them(designer, mc):
    sid = designer.create("LinkedIn touch")
    designer.add(sid, "linkedin_research", name="Research", description="Recent posts")
    designer.add(sid, "wait", days="2", hours="0")
    designer.add(sid, "linkedin_connect", name="Connect")
    data = _export(mc, sid)
    assert [s["type"] for s in data["steps"]] == ["linkedin_research", "wait", "linkedin_connect"]
    response = _import(mc, "contoso", data)
    assert response.status_code == 302
    new_id = int(response.location.rsplit("/", 1)[1])
    assert [(s.type, s.name) for s in designer.steps(new_id)] == [
        ("linkedin_research", "Research"), ("wait", "Wait"), ("linkedin_connect", "Connect")]


def test_a_french_manager_reads_and_adds_them_in_french(designer, mc):
    mc.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9"
    sid = designer.create()
    page = unescape(mc.get(f"/contoso/sequences/{sid}?add=root:main:0&tab=steps")
                    .get_data(as_text=True))
    for label in FRENCH.values():
        assert label in page
    designer.add(sid, "linkedin_connect")
    assert designer.steps(sid)[0].name == FRENCH["linkedin_connect"]
