"""The sequence setting "Count waits in working time": off by default, saved from the settings
page, shown checked again, read-only once active like the others."""

from __future__ import annotations


def test_working_time_is_off_by_default_and_saved(designer, mc):
    sid = designer.create()
    assert designer.sequence(sid).settings["working_time"] is False
    page = mc.get(f"/contoso/sequences/{sid}/settings").get_data(as_text=True)
    assert "Count waits in working time" in page
    assert 'name="working_time" value="y" aria-describedby="working_time-help">' in page
    response = mc.post(f"/contoso/sequences/{sid}/settings",
                       data={"name": "Working", "description": "", "working_time": "y"})
    assert response.status_code == 302
    assert designer.sequence(sid).settings["working_time"] is True
    page = mc.get(f"/contoso/sequences/{sid}/settings").get_data(as_text=True)
    assert 'name="working_time" value="y" aria-describedby="working_time-help" checked>' in page
    mc.post(f"/contoso/sequences/{sid}/settings", data={"name": "Working", "description": ""})
    assert designer.sequence(sid).settings["working_time"] is False


def test_a_bad_field_keeps_the_box_as_typed(designer, mc):
    sid = designer.create()
    response = mc.post(f"/contoso/sequences/{sid}/settings",
                       data={"name": "", "description": "", "working_time": "y"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'name="working_time" value="y" aria-describedby="working_time-help" checked>' in page
    assert designer.sequence(sid).settings["working_time"] is False
