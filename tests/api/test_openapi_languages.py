"""The OpenAPI document and the reference page in each language: /api/v1/openapi.json is English
whoever asks (clients and schemathesis read it) unless `?lang=` names another language, and the
texts are all that a language changes; the reference page speaks its reader's language."""

from __future__ import annotations

from saas.api.openapi import document

TEXTS = {"summary", "description", "title"}
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def _without_texts(value):
    """The document with every human text blanked: what a client's code depends on."""
    if isinstance(value, dict):
        return {key: "" if key in TEXTS and isinstance(item, str)
                else [""] * len(item) if key == "tags" else _without_texts(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_without_texts(item) for item in value]
    return value


def test_the_document_is_english_unless_asked_for_french(client):
    english = client.get("/api/v1/openapi.json", headers=FRENCH)
    assert english.status_code == 200
    listing = english.get_json()["paths"]["/records"]["get"]
    assert (listing["summary"], listing["tags"]) == ("List records", ["Records"])

    french = client.get("/api/v1/openapi.json?lang=fr").get_json()
    listing = french["paths"]["/records"]["get"]
    assert (listing["summary"], listing["tags"]) == ("Lister les enregistrements",
                                                     ["Enregistrements"])
    assert french["info"]["title"] == "API des séquences de vente"
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["description"] == "Éléments par page (1–200)."
    close_date = french["components"]["schemas"]["RecordFields"]["properties"]["close_date"]
    assert close_date["description"] == "AAAA-MM-JJ"
    assert listing["responses"]["401"]["description"].startswith("Aucune clé d’API")
    assert _without_texts(french) == _without_texts(english.get_json())


def test_an_unknown_language_is_a_400_naming_the_parameter(client):
    response = client.get("/api/v1/openapi.json?lang=xx")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == [{"field": "lang", "message": "Use one of: en, fr."}]


def test_document_speaks_the_language_it_is_given(app):
    with app.test_request_context(headers=FRENCH):
        assert document()["paths"]["/records"]["get"]["summary"] == "Lister les enregistrements"
        assert document("en")["paths"]["/records"]["get"]["summary"] == "List records"
        assert document("fr") is document()  # made once per language
        assert document("fr")["paths"]["/records"]["get"]["summary"] != \
            document("en")["paths"]["/records"]["get"]["summary"]


def test_the_reference_page_speaks_its_readers_language(client):
    french = client.get("/api/v1/docs", headers=FRENCH).get_data(as_text=True)
    assert "Lister les enregistrements" in french and "List records" not in french
    assert 'href="/api/v1/openapi.json?lang=fr"' in french
    assert '<a href="#records">Enregistrements</a>' in french  # anchors stay the same
    assert "<td>requête</td>" in french
    assert "<code>lead</code> ou <code>opportunity</code>" in french
    english = client.get("/api/v1/docs").get_data(as_text=True)
    assert "List records" in english and 'href="/api/v1/openapi.json"' in english
    assert '<a href="#records">Records</a>' in english


def test_a_body_is_still_checked_after_a_french_reference(client, api):
    # The validators are built from the schemas with their lazy texts made plain; a French
    # request first does not change what is accepted.
    assert client.get("/api/v1/docs", headers=FRENCH).status_code == 200
    refused = api.post("/records", {"type": "lead", "first_name": 3}, headers=FRENCH)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "/first_name"
    created = api.post("/records", {"type": "lead", "last_name": "Martin",
                                    "email": "martin@example.com"})
    assert created.status_code == 201
