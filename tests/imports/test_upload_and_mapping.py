"""Uploading a file and choosing its columns: what the pages say before anything runs."""

from __future__ import annotations

import re
from html import unescape

from rq import Queue
from sqlalchemy import func, select

from saas.auth.models import Role
from saas.extensions import db
from saas.imports.mapping import auto_mapping, importable_fields
from saas.imports.models import ImportJob
from saas.records.custom_fields import add_custom_field
from saas.tenancy import tenant_context
from tests.imports.conftest import import_id_of, selected_options, upload

EXPORT_HEADER = ("First name,Last name,Company,Email,Phone,Lead source,Status,Owner,Country,"
                 "Time zone,Created,Updated,Tier")


def import_count(app, tenant) -> int:
    with app.app_context(), tenant_context(tenant.id):
        return db.session.execute(select(func.count()).select_from(ImportJob)).scalar_one()


def test_headers_match_field_labels_keys_and_aliases(app, tenant):
    with app.app_context(), tenant_context(tenant.id):
        add_custom_field(record_type="lead", label="Tier", kind="text")
        add_custom_field(record_type="lead", label="Année de création", kind="number")
        fields = importable_fields("lead")
        exported = auto_mapping(EXPORT_HEADER.split(","), fields)
        other = auto_mapping(["PRÉNOM", "surname", "E-mail Address", "Société", "Mobile",
                              "source", "owner email", "country_code", "Notes", "Email",
                              "annee de creation", "first_name"], fields)
        year = next(key for key, f in fields.items() if f.label == "Année de création")
    assert exported == {0: "first_name", 1: "last_name", 2: "company", 3: "email", 4: "phone",
                        5: "lead_source", 6: "status", 7: "owner_id", 8: "country",
                        9: "time_zone", 12: "custom.tier"}  # Created, Updated: read-only
    assert other == {0: "first_name", 1: "last_name", 2: "email", 3: "company", 4: "phone",
                     5: "lead_source", 6: "owner_id", 7: "country",
                     10: year}  # a field goes to its first column only


def test_the_mapping_page_shows_the_matched_columns_and_the_first_lines(
        app, tenant, manager_client):
    with app.app_context(), tenant_context(tenant.id):
        add_custom_field(record_type="lead", label="Tier", kind="text")
    content = EXPORT_HEADER + "\n" + "\n".join(
        f"Ana{i},Lima,Fabrikam,ana{i}@example.com,,Web,new,,FR,,,,Gold" for i in range(8))
    response = upload(manager_client, "acme", content)
    import_id = import_id_of(response)
    page = manager_client.get(f"/acme/imports/{import_id}/mapping")
    html = unescape(page.get_data(as_text=True))
    assert page.status_code == 200
    selected = selected_options(html)
    assert selected["col_0"] == "first_name" and selected["col_7"] == "owner_id"
    assert selected["col_12"] == "custom.tier" and selected["col_10"] == ""
    assert "Tier (custom field)" in html and "Don't import" in html
    assert "8 lines of 13 columns" in html
    assert "The first 5 lines" in html and "ana4@example.com" in html
    assert "ana5@example.com" not in html
    assert re.search(r'<input checked id="duplicate_mode-0"[^>]* value="skip">', html)
    # The job page of an import whose columns are not chosen yet leads to this page.
    assert manager_client.get(f"/acme/imports/{import_id}").headers["Location"].endswith(
        f"/imports/{import_id}/mapping")


def test_a_field_chosen_twice_or_no_name_is_refused_next_to_the_column(
        app, tenant, manager_client, redis_conn):
    import_id = import_id_of(upload(manager_client, "acme",
                                    "Name,Mail,Other mail\nAna,a@example.com,b@example.com\n"))
    twice = manager_client.post(f"/acme/imports/{import_id}/mapping", data={
        "col_0": "last_name", "col_1": "email", "col_2": "email", "duplicate_mode": "skip"})
    html = unescape(twice.get_data(as_text=True))
    assert twice.status_code == 200
    assert "“Email” is already chosen for the column “Mail”." in html
    assert 'id="col_2-error"' in html

    nameless = manager_client.post(f"/acme/imports/{import_id}/mapping", data={
        "col_0": "", "col_1": "email", "col_2": "", "duplicate_mode": "skip"})
    assert "Choose a column for First name or Last name" in unescape(
        nameless.get_data(as_text=True))

    with app.app_context(), tenant_context(tenant.id):
        job = db.session.execute(select(ImportJob)).scalar_one()
        assert (job.status, job.mapping) == ("uploaded", {})
    assert Queue("default", connection=redis_conn).count == 0

    # Updating by email needs no name column.
    response = manager_client.post(f"/acme/imports/{import_id}/mapping", data={
        "col_0": "", "col_1": "email", "col_2": "", "duplicate_mode": "update"})
    assert response.status_code == 302
    assert Queue("default", connection=redis_conn).job_ids == [f"import-{import_id}"]


def test_a_file_not_in_utf8_is_refused_next_to_the_field(app, tenant, manager_client):
    latin1 = "Prénom;Nom;Email\nJosé;Núñez;jose@example.es\n".encode("latin-1")
    response = upload(manager_client, "acme", latin1)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert '<p class="error" id="file-error">This file is not UTF-8 text (line 1 has' in html
    assert "CSV UTF-8" in html
    assert import_count(app, tenant) == 0


def test_files_that_cannot_be_imported_say_why(app, tenant, manager_client):
    cases = {
        b"": "This file is empty.",
        b"PK\x03\x04rest-of-a-zip": "This is a spreadsheet workbook (.xlsx), not a CSV file.",
        b"First name,Email\n": "has no lines below them",
        b"\n\nAna,ana@example.com\n": "The first line must name the columns",
        "\ufeffEmail\n".encode("utf-16"): "This file is UTF-16 text, not UTF-8.",
        b'Name,Company\nAna,Fabrikam\nBen,"Contoso\nCleo,Northwind\n':
            "Line 3 could not be read as CSV (unexpected end of data). Check its quotes",
    }
    for content, message in cases.items():
        response = upload(manager_client, "acme", content)
        assert message in unescape(response.get_data(as_text=True)), content
    no_file = manager_client.post("/acme/imports/new", data={"record_type": "lead"},
                                  content_type="multipart/form-data")
    assert "Choose the CSV file to import." in no_file.get_data(as_text=True)
    assert import_count(app, tenant) == 0


def test_opportunities_are_offered_only_when_enabled(make_tenant, make_user, client, login):
    leads_only = make_tenant("solo", opportunities=False)
    login(client, make_user(leads_only, roles=[Role.SEQUENCE_MANAGER]))
    page = client.get("/solo/imports/new").get_data(as_text=True)
    assert "Opportunities" not in page and 'value="lead"' in page
    response = upload(client, "solo", "Last name\nLima\n", record_type="opportunity")
    assert response.status_code == 200
    assert "Opportunities are not enabled in this workspace; import leads." in \
        response.get_data(as_text=True)


def test_sellers_cannot_import(tenant, make_user, client, login):
    login(client, make_user(tenant, roles=[Role.SELLER]))
    assert client.get("/acme/imports/new").status_code == 403
    assert client.get("/acme/imports").status_code == 403


def test_the_list_starts_empty_and_shows_the_newest_first(app, tenant, manager_client):
    empty = manager_client.get("/acme/imports").get_data(as_text=True)
    assert "No imports yet." in empty and "Import a CSV file" in empty
    for name in ("first.csv", "second.csv"):
        upload(manager_client, "acme", b"Last name\nLima\n", filename=name)
    page = manager_client.get("/acme/imports").get_data(as_text=True)
    assert page.index("second.csv") < page.index("first.csv")
    assert "Columns to choose" in page


def test_a_file_too_large_is_refused_next_to_the_field(app, tenant, manager_client,
                                                       monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2_000)  # the server's request limit
    response = upload(manager_client, "acme", "Last name\n" + "Lima\n" * 1_000)
    assert response.status_code == 413
    html = unescape(response.get_data(as_text=True))
    assert '<p class="error" id="file-error">This file is larger than 50 MB.' in html
    assert import_count(app, tenant) == 0
