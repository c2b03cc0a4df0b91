"""Signed webhook bodies that are nonsense: a 400 with a reason (logged), never a 500, and
nothing written. A valid signature proves the sender, not the content."""

from __future__ import annotations

import json
import logging

import pytest

from tests.messaging import test_webhooks as base
from tests.messaging.signing import twilio_signature
from tests.messaging.test_webhooks import PUBLIC, TWILIO_TOKEN, _events, _sg_event

signer, world = base.signer, base.world  # the same fixtures: a signed tenant with a sent email


def _post_raw(client, signer, body: bytes):
    return client.post("/mailco/webhooks/sendgrid/events", data=body,
                       headers=signer.headers(body))


@pytest.mark.parametrize(("body", "reason"), [
    (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    (b'{"a": ' * 3000 + b"1" + b"}" * 3000, "nested too deeply"),
    (b"not json", "not JSON"),
    (b'{"event": "delivered"}', "list of events"),
])
def test_unreadable_signed_bodies_are_refused_with_a_reason(app, client, world, signer, body,
                                                           reason, caplog):
    caplog.set_level(logging.WARNING, logger="saas.webhooks.routes")
    response = _post_raw(client, signer, body)
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    assert any("webhook refused" in r.getMessage() and "request_id=" in r.getMessage()
               for r in caplog.records)
    assert _events(app, world.tenant.id) == []


def test_a_list_of_junk_records_nothing_and_answers(app, client, world, signer):
    junk = [1, "x", None, [], [[{}]], True, {"event": ["delivered"], "sg_event_id": {"a": 1}},
            {"event": "delivered"}, {"sg_event_id": "e9"}, {"event": 5, "sg_event_id": 7.5}]
    response = _post_raw(client, signer, json.dumps(junk).encode())
    assert response.status_code == 200
    assert response.get_json() == {"recorded": 0}
    assert _events(app, world.tenant.id) == []


def test_nul_bytes_huge_ids_and_odd_types_in_a_signed_event(app, client, world, signer):
    events = [
        _sg_event(world, event_id="e\x00nul", email="lead\x00@example.com",
                  reason="bad\x00reason", useragent="\x00" * 10),
        _sg_event(world, event_id="e-huge", step_run_id=2**70, tenant_id="9" * 30),
        _sg_event(world, event_id="e-float", step_run_id=1.5, timestamp="soon"),
        _sg_event(world, event_id="e-long", email="x" * 10_000, url="u" * 100_000,
                  timestamp=10**30),
    ]
    response = _post_raw(client, signer, json.dumps(events).encode())
    assert response.status_code == 200, response.get_data(as_text=True)
    recorded = _events(app, world.tenant.id)
    assert sorted(e.provider_event_id for e in recorded) == ["e-float", "e-huge", "e-long",
                                                            "enul"]
    by_id = {e.provider_event_id: e for e in recorded}
    assert by_id["enul"].address == "lead@example.com"
    assert by_id["enul"].data["reason"] == "badreason"
    assert by_id["e-huge"].step_run_id is None  # past bigint: no run, not a 500
    assert len(by_id["e-long"].address) <= 254


def _twilio_post(client, path, form):
    url = PUBLIC + path
    return client.post(path, data=form, headers={
        "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, form)})


@pytest.mark.parametrize("form", [
    {"MessageSid": "SM" + "1" * 200, "MessageStatus": "delivered"},
    {"MessageSid": "SM 1; drop", "MessageStatus": "delivered"},
    {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+1" * 10_000},
])
def test_signed_twilio_status_with_bad_fields_is_a_400(app, client, world, form):
    app.config["PUBLIC_URL"] = PUBLIC
    response = _twilio_post(client, "/mailco/webhooks/twilio/status?sr=" + "9" * 30, form)
    assert response.status_code == 400
    assert _events(app, world.tenant.id) == []


def test_signed_twilio_status_with_a_huge_run_id_is_recorded_without_a_run(app, client, world):
    app.config["PUBLIC_URL"] = PUBLIC
    form = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+33611111111"}
    response = _twilio_post(client, "/mailco/webhooks/twilio/status?sr=" + "9" * 30, form)
    assert response.status_code == 204
    [event] = _events(app, world.tenant.id)
    assert event.step_run_id is None


def test_a_signed_inbound_sms_with_control_characters_is_verified_as_sent(app, client, world):
    """Twilio signs what it sent; the stored text has the control characters removed."""
    app.config["PUBLIC_URL"] = PUBLIC
    form = {"MessageSid": "SM2", "From": "+33611111111", "Body": "Hello\x00\x07 there"}
    response = _twilio_post(client, "/mailco/webhooks/twilio/inbound", form)
    assert response.status_code == 200
    [event] = _events(app, world.tenant.id)
    assert event.data["body"] == "Hello there"
