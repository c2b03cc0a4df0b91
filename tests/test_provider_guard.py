"""The guard every test runs under (tests/conftest.py): the real SendGrid and Twilio clients,
left at their real addresses, reach nothing; the attempt is recorded (the suite's fixture then
fails the test)."""

from __future__ import annotations

from saas.messaging import connections, providers
from tests.provider_guard import ProviderGuard


def test_the_real_sendgrid_api_is_out_of_reach(monkeypatch):
    guard = ProviderGuard().install(monkeypatch)  # in front of the suite's own guard
    connections.close_all()
    payload = providers.build_mail(
        to="lead@example.com", from_address="hello@example.com", from_name="", subject="Hi",
        html="", text="Hi", reply_to=None, headers=None, custom_args=None, categories=None)
    result = providers.sendgrid_send(api_key="SG.real-looking", base_url="https://api.sendgrid.com",
                                     timeout=2, payload=payload)
    assert result.status == "unknown" and "real provider" in result.error
    assert guard.reached == ["api.sendgrid.com"]


def test_the_real_twilio_api_is_out_of_reach(monkeypatch):
    guard = ProviderGuard().install(monkeypatch)
    result = providers.twilio_send(
        sid="AC" + "1" * 32, token="secret", base_url="https://api.twilio.com", timeout=2,
        to="+15005550006", from_="+15005550001", body="Hi", status_callback=None)
    assert result.status in ("unknown", "retry")
    assert guard.reached == ["api.twilio.com"]
