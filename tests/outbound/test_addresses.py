"""Private, loopback, link-local and reserved addresses are refused when a webhook is saved
and, on the resolved address, when it is delivered (a name that resolves to 127.0.0.1)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.outbound import addresses, delivery, services
from saas.outbound.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.outbound.conftest import setting

REFUSED = ["http://127.0.0.1:8080/h", "http://localhost/h", "http://10.1.2.3/h",
           "http://192.168.0.10/h", "http://169.254.169.254/latest/meta-data",
           "http://[::1]/h", "http://[fe80::1]/h", "http://0.0.0.0/h", "http://224.0.0.1/h",
           "http://100.64.0.1/h", "http://[::ffff:127.0.0.1]/h", "http://240.0.0.1/h"]


@pytest.mark.parametrize("url", REFUSED)
def test_private_addresses_are_refused_at_save_time(app, world, url):
    with world.inside(), setting(app, "OUTBOUND_WEBHOOK_ALLOW_PRIVATE", False):
        with pytest.raises(services.WebhookInvalid, match="public addresses only"):
            services.create_subscription(url, "", ["record.connected"])
        assert db.session.execute(select(WebhookSubscription)).first() is None


@pytest.mark.parametrize("url", ["ftp://example.com/h", "https://user:pw@example.com/h",
                                 "https:///nohost", "https://example.com:99999/h", ""])
def test_malformed_urls_are_refused(world, url):
    with world.inside(), pytest.raises(services.WebhookInvalid):
        services.create_subscription(url, "", ["record.connected"])


def test_a_public_address_is_accepted(app, world):
    with world.inside(), setting(app, "OUTBOUND_WEBHOOK_ALLOW_PRIVATE", False):
        assert addresses._forbidden("93.184.215.14") is False
        assert addresses._forbidden("2606:2800:21f:cb07:6820:80da:af6b:8b2c") is False


def test_a_name_resolving_to_loopback_is_refused_at_delivery_time(app, world, receiver):
    with world.inside():
        # saved while private addresses were allowed (or before the name pointed here)
        sub, _secret = services.create_subscription(
            f"http://localhost:{receiver.port}/hooks", "", ["record.connected"])
        services.send_test(sub)
        with setting(app, "OUTBOUND_WEBHOOK_ALLOW_PRIVATE", False):
            assert delivery.deliver_once() == 1
        [attempt] = db.session.execute(select(WebhookAttempt)).scalars().all()
        assert "public addresses only" in attempt.error
        assert attempt.status_code is None
        row = db.session.execute(select(WebhookDelivery)).scalar_one()
        assert row.status == "pending"  # retried: a name may point elsewhere later
    assert receiver.requests == []  # nothing reached the receiver
    with world.inside():  # with the setting on (the tests' default) the same name delivers
        db.session.execute(WebhookDelivery.__table__.update().values(
            next_attempt_at=db.func.now()))
        db.session.commit()
        assert delivery.deliver_once() == 1
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["Host"] == f"localhost:{receiver.port}"
