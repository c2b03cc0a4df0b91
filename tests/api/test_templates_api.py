"""Message templates over the API, each with its versions in other languages."""

from __future__ import annotations

from saas.extensions import db
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context


def test_templates_with_their_language_versions(app, admin, api, api_for, make_user):
    with app.app_context(), tenant_context(admin.tenant.id):
        intro = MessageTemplate(kind="email", name="Intro", language="en", subject="Hello",
                                html_body="<p>Hi</p>", text_body="Hi")
        db.session.add(intro)
        db.session.flush()
        db.session.add_all([
            MessageTemplate(kind="email", name="Intro", language="fr", subject="Bonjour",
                            translation_of_id=intro.id, text_body="Salut"),
            MessageTemplate(kind="email", name="Intro", language="de", subject="Hallo",
                            translation_of_id=intro.id),
            MessageTemplate(kind="sms", name="Ping", body="Ping!")])
        db.session.commit()
    page = api.get("/templates").get_json()
    assert [(t["name"], t["kind"]) for t in page["data"]] == [("Intro", "email"),
                                                              ("Ping", "sms")]
    email = page["data"][0]
    assert email["subject"] == "Hello" and email["language"] == "en"
    assert [(v["language"], v["subject"]) for v in email["versions"]] == [
        ("fr", "Bonjour"), ("de", "Hallo")]
    assert page["data"][1]["body"] == "Ping!" and page["data"][1]["versions"] == []
    sms = api_for(admin, "read_only").get("/templates?kind=sms").get_json()["data"]
    assert [t["name"] for t in sms] == ["Ping"]
    one = api.get("/templates?limit=1").get_json()
    assert [t["name"] for t in one["data"]] == ["Intro"]
    assert [t["name"] for t in api.get(f"/templates?after={one['next_cursor']}")
            .get_json()["data"]] == ["Ping"]
    assert api.get("/templates?kind=fax").status_code == 400
    from saas.auth.models import Role

    seller = make_user(admin.tenant, roles=[Role.SELLER])
    assert api_for(admin, "seller", seller).get("/templates").status_code == 403
