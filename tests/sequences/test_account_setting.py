"""The sequence setting "stop the others at that company too" (issue 20): off by default, saved
and shown by the settings form, in English and French, kept by an export and import."""

from __future__ import annotations

import re
from html import unescape

LABEL = "When someone at a company replies or unsubscribes, stop the others at that company too"


def _checkbox(page: str) -> str:
    return re.search(r'<input type="checkbox" id="stop_account"[^>]*>', page).group(0)


def _form(**extra):
    return {"name": "Trade show follow-up", "description": "", "exit_on_reply": "y",
            "exit_on_unsubscribe": "y", "exit_on_bounce": "y", **extra}


def test_the_checkbox_is_off_by_default_then_saves_and_shows(designer, mc):
    sid = designer.create()
    assert designer.sequence(sid).settings["stop_account"] is False
    page = unescape(mc.get(f"/contoso/sequences/{sid}/settings").get_data(as_text=True))
    assert LABEL in page and "except free mail such as gmail.com" in page
    assert "checked" not in _checkbox(page)

    assert mc.post(f"/contoso/sequences/{sid}/settings",
                   data=_form(stop_account="y")).status_code == 302
    assert designer.sequence(sid).settings["stop_account"] is True
    page = mc.get(f"/contoso/sequences/{sid}/settings").get_data(as_text=True)
    assert "checked" in _checkbox(page)

    assert mc.post(f"/contoso/sequences/{sid}/settings", data=_form()).status_code == 302
    assert designer.sequence(sid).settings["stop_account"] is False
    # A form sent back with an error keeps what was ticked.
    page = mc.post(f"/contoso/sequences/{sid}/settings",
                   data=_form(stop_account="y", name="")).get_data(as_text=True)
    assert "checked" in _checkbox(page)
    assert designer.sequence(sid).settings["stop_account"] is False


def test_the_setting_speaks_french(designer, mc):
    sid = designer.create()
    mc.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9"
    page = unescape(mc.get(f"/contoso/sequences/{sid}/settings").get_data(as_text=True))
    assert "Quand une personne d’une entreprise répond ou se désabonne, arrêter aussi les " \
        "autres personnes de cette entreprise" in page
    assert "sauf les messageries gratuites comme gmail.com" in page
    assert LABEL not in page


def test_an_export_and_import_keep_the_setting(designer, mc):
    from tests.sequences.test_transfer import _export, _import

    sid = designer.create()
    designer.add(sid, "call", name="Call")
    mc.post(f"/contoso/sequences/{sid}/settings", data=_form(stop_account="y"))
    data = _export(mc, sid)
    assert data["settings"]["stop_account"] is True
    response = _import(mc, "contoso", data)
    assert response.status_code == 302
    copy = designer.sequence(int(response.location.rsplit("/", 1)[1]))
    assert copy.settings["stop_account"] is True
    data["settings"]["stop_account"] = "yes"  # not a boolean: the default
    response = _import(mc, "contoso", data)
    assert designer.sequence(int(response.location.rsplit("/", 1)[1])).settings[
        "stop_account"] is False
