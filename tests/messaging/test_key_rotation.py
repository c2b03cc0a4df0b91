"""Key rotation (issue 22): a new SECRET_KEY keeps the links already in people's inboxes working
(old keys in OLD_SECRET_KEYS, and the hand-rolled HMAC tokens of before itsdangerous); a new
encryption key first in MESSAGING_ENCRYPTION_KEYS keeps stored provider keys readable and the
re-encrypt command moves them to it; a stored key no key here can read stops sending, visibly."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from saas.auth import tokens
from saas.auth.models import Role, Tenant
from saas.engine import clock
from saas.engine.models import StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging import crypto, settings_service, tracking
from saas.messaging.config import config_for
from saas.messaging.delivery import send_sms
from saas.messaging.models import MessageEvent, OutboxMessage, Suppression
from saas.tenancy import tenant_context
from tests.messaging import builders
from tests.messaging.conftest import configure

PUBLIC = "http://localhost:5000"
OLD = "test-secret-key-test-secret-key-0123456789"  # the suite's SECRET_KEY (tests/conftest.py)
NEW = "new-secret-key-new-secret-key-0123456789"
STOPPED = ("Sending is stopped: the stored SendGrid key can&#39;t be read. "
           "Enter it again in Settings.")


def _legacy_make(purpose: str, tenant_id: int, step_run_id: int, extra: str, secret: str) -> str:
    """A token as saas/messaging/tracking.py made them before itsdangerous (its code, copied)."""
    key = hashlib.sha256(f"saas.tracking.{purpose}:{secret}".encode()).digest()
    message = f"{tenant_id}-{step_run_id}-{extra}"
    return f"{tenant_id}-{step_run_id}-" + hmac.new(
        key, message.encode(), hashlib.sha256).hexdigest()[:20]


def test_the_legacy_format_is_the_one_links_were_made_with():
    """Tokens printed by the previous implementation (commit aa7e427), for the copy above."""
    assert _legacy_make("unsubscribe", 7, 42, "lea@example.com", OLD) == "7-42-c5623d8c099cc9bf3af6"
    assert _legacy_make("open", 7, 42, "", OLD) == "7-42-7da18c276d6c7fe1185a"
    assert _legacy_make("click", 7, 42, "https://example.com/offer", OLD) == \
        "7-42-68e93e8667e72d7e995f"
    assert _legacy_make("reply", 7, 42, "", OLD) == "7-42-ee4e94ee94cab09be27d"


@pytest.fixture
def sent(app, make_tenant):
    """An outbox tenant whose lead got an automated email: (tenant, run id, message)."""
    tenant = make_tenant("plain")
    configure(app, tenant.id, inbound_domain="reply.plain.example")
    with app.app_context(), tenant_context(tenant.id):
        template = builders.email_template()
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}},
                                 {"type": "task", "name": "Call them"}])
        [run] = builders.connect([builders.lead("lea@example.com")], seq)
        db.session.commit()
        run_id = run.id
    with app.app_context():
        run_tick(budget_seconds=30)
    with app.app_context(), tenant_context(tenant.id):
        message = db.session.execute(select(OutboxMessage)).scalar_one()
        db.session.expunge(message)
    return tenant, run_id, message


def _links(message) -> dict[str, str]:
    """The message's tracking links as paths (unsubscribe, open, click)."""
    def path(kind: str) -> str:
        found = re.search(rf'(?:href|src)="{re.escape(PUBLIC)}(/plain/t/{kind}/[^"]+)"',
                          message.html_body)
        return found.group(1).replace("&amp;", "&")
    return {"u": path("u"), "o": path("o"), "c": path("c")}


def _rotate(monkeypatch, app, new: str = NEW, old: str | None = OLD) -> None:
    monkeypatch.setitem(app.config, "SECRET_KEY", new)
    monkeypatch.setitem(app.config, "OLD_SECRET_KEYS", old or "")


def _events(app, tenant_id) -> list[str]:
    with app.app_context(), tenant_context(tenant_id):
        return [e.kind for e in db.session.execute(
            select(MessageEvent).order_by(MessageEvent.id)).scalars()]


def test_rotating_the_secret_key_keeps_sent_links_working(app, client, sent, monkeypatch):
    tenant, run_id, message = sent
    links = _links(message)
    _rotate(monkeypatch, app)
    assert client.get(links["o"]).status_code == 200
    click = client.get(links["c"])
    assert click.status_code == 302 and click.headers["Location"] == "https://example.com/offer?x=1"
    page = client.get(links["u"])
    assert page.status_code == 200 and "lea@example.com" in page.get_data(as_text=True)
    assert client.post(links["u"], data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert _events(app, tenant.id) == ["open", "click", "unsubscribe"]
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(Suppression.address)).scalar_one() == "lea@example.com"
    # What verifies them is the old key in OLD_SECRET_KEYS: without it they are refused.
    monkeypatch.setitem(app.config, "OLD_SECRET_KEYS", "")
    assert client.get(links["u"]).status_code == 404
    assert client.get(links["o"]).status_code == 404


def test_new_links_are_signed_with_the_new_key(app, sent, monkeypatch):
    tenant, run_id, _message = sent
    _rotate(monkeypatch, app)
    with app.test_request_context():
        token = tracking.make(tracking.UNSUBSCRIBE, tenant.id, run_id, "lea@example.com")
        assert tracking.read(tracking.UNSUBSCRIBE, token, "lea@example.com") is not None
        monkeypatch.setitem(app.config, "OLD_SECRET_KEYS", "")
        assert tracking.read(tracking.UNSUBSCRIBE, token, "lea@example.com") is not None
        monkeypatch.setitem(app.config, "SECRET_KEY", OLD)  # back to the old key alone
        assert tracking.read(tracking.UNSUBSCRIBE, token, "lea@example.com") is None


@pytest.mark.parametrize("rotated", [False, True], ids=["same-key", "after-rotation"])
def test_links_from_before_itsdangerous_still_work(app, client, sent, monkeypatch, rotated):
    tenant, run_id, _message = sent
    if rotated:
        _rotate(monkeypatch, app)
    base = "/plain/t"
    url = "https://example.com/offer?x=1"
    open_ = _legacy_make("open", tenant.id, run_id, "", OLD)
    click = _legacy_make("click", tenant.id, run_id, url, OLD)
    unsubscribe = _legacy_make("unsubscribe", tenant.id, run_id, "lea@example.com", OLD)
    assert client.get(f"{base}/o/{open_}.gif").status_code == 200
    assert client.get(f"{base}/c/{click}?u={quote(url, safe='')}").status_code == 302
    path = f"{base}/u/{unsubscribe}?a=lea@example.com"
    assert client.get(path).status_code == 200
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert _events(app, tenant.id) == ["open", "click", "unsubscribe"]
    with app.test_request_context():
        reply = f"r-{_legacy_make('reply', tenant.id, run_id, '', OLD)}@reply.plain.example"
        found = tracking.read_reply(f"Sales <{reply.upper()}>")
    assert (found.tenant_id, found.step_run_id) == (tenant.id, run_id)


@pytest.mark.parametrize("how", [
    "garbage", "tampered-new", "tampered-legacy", "truncated", "other-address", "other-run",
    "non-ascii", "non-ascii-legacy", "dots", "dashes", "empty-signature", "huge", "legacy-new-key",
    "percent"])
def test_forged_or_tampered_tokens_are_a_404_never_a_500(app, client, sent, monkeypatch, how):
    tenant, run_id, message = sent
    _rotate(monkeypatch, app)
    good = _links(message)["u"]
    token = good.split("/u/")[1].split("?")[0]
    ids, signature = token.split(".")
    flipped = ("A" if signature[5] != "A" else "B")
    legacy = _legacy_make("unsubscribe", tenant.id, run_id, "lea@example.com", OLD)
    tokens_ = {
        "garbage": "nonsense",
        "tampered-new": f"{ids}.{signature[:5]}{flipped}{signature[6:]}",
        "tampered-legacy": legacy[:-1] + ("0" if legacy[-1] != "0" else "1"),
        "truncated": token[:-2],
        "other-address": None,
        "other-run": f"{tenant.id}-{run_id + 1}.{signature}",
        "non-ascii": f"{ids}.{signature[:-1]}é",
        "non-ascii-legacy": f"{tenant.id}-{run_id}-{'é' * 20}",
        "dots": "...",
        "dashes": "--",
        "empty-signature": f"{ids}.",
        "huge": f"{ids}." + "A" * 5000,
        "legacy-new-key": _legacy_make("unsubscribe", tenant.id, run_id, "lea@example.com",
                                       "never-a-key-here-never-a-key-here-01"),
        "percent": f"{ids}.%00%ff",
    }
    if how == "other-address":
        path = good.replace("a=lea@example.com", "a=boss@example.com")
    else:
        path = f"/plain/t/u/{tokens_[how]}?a=lea@example.com"
    assert client.get(path).status_code == 404
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    forged = tokens_.get(how) or token  # (an unsubscribe token is no open or click token)
    assert client.get(f"/plain/t/o/{forged}.gif").status_code == 404
    assert client.get(f"/plain/t/c/{forged}?u=https%3A%2F%2Fevil.example").status_code == 404
    assert "unsubscribe" not in _events(app, tenant.id)


def test_tokens_stay_as_short_as_before(app, sent):
    tenant, run_id, message = sent
    links = _links(message)
    legacy = len(_legacy_make("open", tenant.id, run_id, "", OLD))
    for kind in ("o", "u", "c"):
        token = links[kind].split(f"/{kind}/")[1].split("?")[0].removesuffix(".gif")
        assert len(token) <= legacy, (kind, token)
    with app.test_request_context():
        reply = tracking.reply_address(tenant.id, run_id, "reply.plain.example")
    local = reply.split("@")[0]
    assert re.fullmatch(rf"r-{tenant.id}-{run_id}-[0-9a-f]{{20}}", local) and len(local) < 64
    with app.test_request_context():
        assert tracking.read_reply(reply.upper()).step_run_id == run_id  # in any case


def test_auth_tokens_survive_a_rotation(app, monkeypatch):
    with app.test_request_context():
        token = tokens.make_token(tokens.INVITE, {"user": 1})
        _rotate(monkeypatch, app)
        assert tokens.read_token(tokens.INVITE, token, 60) == {"user": 1}
        assert tokens.read_token(tokens.PASSWORD_RESET, token, 60) is None  # its own salt
        fresh = tokens.make_token(tokens.INVITE, {"user": 2})
        monkeypatch.setitem(app.config, "OLD_SECRET_KEYS", "")
        assert tokens.read_token(tokens.INVITE, token, 60) is None
        assert tokens.read_token(tokens.INVITE, fresh, 60) == {"user": 2}


def test_sign_in_survives_a_rotation(app, admin_client, monkeypatch):
    """Flask's SECRET_KEY_FALLBACKS comes from OLD_SECRET_KEYS (saas/config.py)."""
    from saas.config import load

    settings = dict(load({"APP_ENV": "test", "SECRET_KEY": NEW, "OLD_SECRET_KEYS": f" {OLD} ,"})
                    .as_flask_config())
    assert settings["OLD_SECRET_KEYS"] == OLD and settings["SECRET_KEY_FALLBACKS"] == (OLD,)
    _rotate(monkeypatch, app)
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", settings["SECRET_KEY_FALLBACKS"])
    assert admin_client.get("/acme/").status_code == 200


# -- provider keys at rest ------------------------------------------------------------------------

def _stored(app, tenant_id, name="sendgrid_key") -> str:
    with app.app_context():
        return db.session.get(Tenant, tenant_id).settings["messaging"][name]


def _runs(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        rows = db.session.execute(select(StepRun).where(StepRun.step_type == "auto_email")
                                  .order_by(StepRun.id)).scalars().all()
        db.session.expunge_all()
        return rows


def _outreach(app, tenant_id, email="ann@example.com") -> int:
    with app.app_context(), tenant_context(tenant_id):
        template = builders.email_template()
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}},
                                 {"type": "task", "name": "Call them"}])
        [run] = builders.connect([builders.lead(email)], seq)
        db.session.commit()
        return run.id


def test_rotating_the_encryption_key_keeps_provider_keys_readable(
        app, make_tenant, fake, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEYS", old)
    tenant = make_tenant("mailco")
    configure(app, tenant.id, sendgrid_key="SG.rotate-me", twilio_sid="AC" + "1" * 32,
              twilio_token="tw-rotate-me", twilio_from="+15005550006")
    before = _stored(app, tenant.id)
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEYS", f"{new}, {old}")
    with app.app_context():
        config = config_for(tenant.id)
        assert (config.sendgrid_key, config.twilio_token) == ("SG.rotate-me", "tw-rotate-me")
        assert config.unreadable == () and config.sending_stopped() == []
        assert Fernet(new).decrypt(crypto.encrypt("x").encode()) == b"x"  # the first encrypts
    run_id = _outreach(app, tenant.id)
    with app.app_context():
        run_tick(budget_seconds=30)
    assert [r.status for r in _runs(app, tenant.id)] == ["sent"] and fake.emails()
    assert fake.emails()[0]["auth"] == "Bearer SG.rotate-me"
    # Re-encrypt with the first key (the CLI), then the old key can go.
    result = app.test_cli_runner().invoke(args=["rotate-provider-keys"])
    assert result.exit_code == 0, result.output
    assert "2 stored provider key(s) encrypted with the first key." in result.output
    assert _stored(app, tenant.id) != before
    assert Fernet(new).decrypt(_stored(app, tenant.id).encode()) == b"SG.rotate-me"
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEYS", new)
    with app.app_context():
        config = config_for(tenant.id)
    assert (config.sendgrid_key, config.twilio_token) == ("SG.rotate-me", "tw-rotate-me")
    assert run_id


def test_values_stored_under_the_single_key_or_the_derived_one_stay_readable(
        app, make_tenant, monkeypatch):
    single = Fernet.generate_key().decode()
    tenant = make_tenant("mailco")
    configure(app, tenant.id, sendgrid_key="SG.derived")  # test: a key derived from SECRET_KEY
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEY", single)
    with app.app_context():
        assert config_for(tenant.id).unreadable == ("sendgrid_key",)  # (another key now)
        monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEY", "")
        _rotate(monkeypatch, app)  # the derived key follows SECRET_KEY; old ones still read
        assert config_for(tenant.id).sendgrid_key == "SG.derived"
        monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEY", single)
    configure(app, tenant.id, sendgrid_key="SG.single")
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    with app.app_context():  # the single key of before still decrypts after the list
        assert config_for(tenant.id).sendgrid_key == "SG.single"
        assert settings_service.reencrypt_stored_keys() == (1, 0)
        monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEY", "")
        assert config_for(tenant.id).sendgrid_key == "SG.single"


def test_re_encrypt_leaves_an_unreadable_value_and_says_so(app, make_tenant, monkeypatch):
    tenant = make_tenant("mailco")
    configure(app, tenant.id, sendgrid_key="SG.lost")
    before = _stored(app, tenant.id)
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    result = app.test_cli_runner().invoke(args=["rotate-provider-keys"])
    assert result.exit_code == 1
    assert "0 stored provider key(s)" in result.output and "could not be read" in result.output
    assert _stored(app, tenant.id) == before


def test_a_config_with_a_bad_encryption_key_is_refused():
    from saas.config import ConfigError, load

    good = Fernet.generate_key().decode()
    assert dict(load({"APP_ENV": "test", "MESSAGING_ENCRYPTION_KEYS": f"{good},"})
                .as_flask_config())["MESSAGING_ENCRYPTION_KEYS"] == good
    with pytest.raises(ConfigError, match="MESSAGING_ENCRYPTION_KEYS"):
        load({"APP_ENV": "test", "MESSAGING_ENCRYPTION_KEYS": f"{good},not-a-key"})


# -- a key no key here can read ------------------------------------------------------------------

def test_an_unreadable_key_stops_sending_visibly(
        app, client, sendgrid_tenant, fake, make_user, login, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    run_id = _outreach(app, sendgrid_tenant.id)
    with app.app_context():
        run_tick(budget_seconds=30)
    [run] = _runs(app, sendgrid_tenant.id)
    assert (run.id, run.status, run.provider) == (run_id, "pending", "sendgrid")
    assert "SendGrid key can't be read" in run.error
    assert run.due_at > clock.now() + timedelta(minutes=20)  # waits, retried later
    assert fake.emails() == []
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        assert db.session.execute(select(OutboxMessage)).first() is None  # not the outbox
    # Settings and Home say so, to an administrator of that tenant.
    admin = make_user(sendgrid_tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    assert login(client, admin).status_code == 302
    settings = client.get("/mailco/settings/messaging").get_data(as_text=True)
    assert STOPPED in settings
    home = client.get("/mailco/").get_data(as_text=True)
    assert STOPPED in home and 'href="/mailco/settings/messaging"' in home
    # The administrator enters the key again: the message goes, the wait goes out.
    response = client.post("/mailco/settings/messaging",
                           data={"sendgrid_key": "SG.test-key",
                                 "from_address": "hello@mailco.example"})
    assert response.status_code == 302
    assert STOPPED not in client.get("/mailco/").get_data(as_text=True)
    with app.app_context():
        clock.move_forward(timedelta(hours=1))
        run_tick(budget_seconds=30)
    [run] = _runs(app, sendgrid_tenant.id)
    assert (run.status, run.provider) == ("sent", "sendgrid") and len(fake.emails()) == 1


def test_the_french_page_says_it_in_french(app, client, sendgrid_tenant, make_user, login,
                                           monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    admin = make_user(sendgrid_tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    login(client, admin)
    home = client.get("/mailco/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "L’envoi est arrêté" in home and STOPPED not in home


def test_an_unreadable_twilio_token_keeps_texts_out_of_the_outbox(
        app, twilio_tenant, fake, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    with app.app_context():
        config = config_for(twilio_tenant.id)
        assert config.sms_provider == "twilio" and config.unreadable == ("twilio_token",)
        assert len(config.sending_stopped()) == 1
        result = send_sms(twilio_tenant.id, to="+33611111111", body="Hi", config=config)
        assert (result.status, result.provider) == ("retry", "twilio")
        with tenant_context(twilio_tenant.id):
            assert db.session.execute(select(OutboxMessage)).first() is None
    assert fake.texts() == []
