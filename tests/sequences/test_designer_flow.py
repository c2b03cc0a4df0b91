"""The designer's flow as the server draws it (issue 18): where each path goes on and where it
stops. The geometry is in tests/browser/test_designer_flow.py."""

from __future__ import annotations

import re
from html import unescape

from saas.extensions import db
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence


def _canvas(mc, sid) -> str:
    page = mc.get(f"/contoso/sequences/{sid}").get_data(as_text=True)
    return page[page.index('id="canvas"'):page.index('id="pane"')]


def _branch(canvas, cond, name) -> str:
    start = canvas.index(f'id="branch-{cond}-{name}"')
    return canvas[canvas.rindex("<div", 0, start):]


def test_a_path_that_moves_to_another_sequence_ends_there(designer, mc):
    sid = designer.create()
    designer.add(sid, "email")
    cond = designer.add(sid, "email_condition")
    designer.add(sid, "move_to_sequence", place=f"{cond}:yes:0")
    designer.add(sid, "task", place=f"{cond}:no:0")
    canvas = _canvas(mc, sid)
    yes, no = _branch(canvas, cond, "yes"), _branch(canvas, cond, "no")
    assert "branch-stops" in yes.split(">", 1)[0] and "branch-stops" not in no.split(">", 1)[0]
    assert canvas.count("Leaves this sequence") == 1
    assert "fork-stops" not in canvas and "tile-end-apart" not in canvas  # No goes on to End
    # the Yes branch's "+" is there before the move, not after it
    assert 'aria-label="Add a step after “Move to another sequence”"' not in canvas
    assert f"add={cond}:yes:0" in canvas and f"add={cond}:no:1" in canvas


def test_when_every_path_leaves_nothing_joins_at_end(designer, mc):
    sid = designer.create()
    cond = designer.add(sid, "call_condition")
    designer.add(sid, "move_to_sequence", place=f"{cond}:yes:0")
    designer.add(sid, "move_to_sequence", place=f"{cond}:no:0")
    canvas = _canvas(mc, sid)
    assert "fork-stops" in canvas and "tile-end-apart" in canvas
    assert canvas.count("Leaves this sequence") == 2
    assert canvas.count('id="end-tile"') == 1


def test_a_read_only_version_keeps_its_lines_without_plus(app, tenant, mc):
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([
            {"type": "task", "name": "Send brochure"},
            {"type": "call_condition", "name": "Reached?", "config": {"outcomes": ["connected"]},
             "yes": [{"type": "task", "name": "Book the demo"}]},
        ], name="Live follow-up", status="active")
        db.session.commit()
        sid = sequence.id
    canvas = _canvas(mc, sid)
    assert 'class="plus' not in canvas
    # Start → Send brochure → Reached?, the opening line of each branch, Book the demo → End
    assert len(re.findall(r'<div class="flow-link" aria-hidden="true"></div>', canvas)) == 5
    assert "Fit to screen" in canvas and 'aria-pressed="false"' in canvas
    assert canvas.index("Book the demo") < canvas.index('id="end-tile"')


def test_the_flow_speaks_french(designer, mc):
    sid = designer.create()
    cond = designer.add(sid, "email_condition")
    designer.add(sid, "move_to_sequence", place=f"{cond}:yes:0")
    mc.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9"
    canvas = unescape(_canvas(mc, sid))
    assert "Ajuster à l’écran" in canvas and "Quitte cette séquence" in canvas
    assert ">Oui</p>" in canvas and ">Non</p>" in canvas and ">Fin</span>" in canvas
