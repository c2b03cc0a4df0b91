"""The LinkedIn address in CSV files: a "LinkedIn" column is matched, its cells normalised, a bad
one reported with its line; the export writes it under its English label and reads back."""

from __future__ import annotations

from sqlalchemy import delete

from saas.extensions import db
from saas.imports.mapping import auto_mapping, importable_fields
from saas.records.models import Record
from saas.tenancy import tenant_context


def test_linkedin_columns_are_matched_by_their_usual_names(app, tenant):
    with app.app_context(), tenant_context(tenant.id):
        fields = importable_fields("lead")
        for header in ("LinkedIn URL", "LinkedIn", "linkedin profile", "Profil LinkedIn"):
            assert auto_mapping(["Last name", header], fields) == {0: "last_name",
                                                                   1: "linkedin_url"}, header


def test_linkedin_cells_are_normalised_and_a_bad_one_reported_by_line(
        app, tenant, manager_client, start_import, run_jobs, load):
    csv_text = (
        "Last name,Email,LinkedIn\n"                                                   # 1
        "Lima,ana@example.org,https://fr.linkedin.com/in/ana-lima/?trk=people\n"       # 2
        "Okafor,ben@example.org,linkedin.com/company/contoso\n"                        # 3
        "Ng,eve@example.org,12345678901234567890\n"                                    # 4: bad
        "Diaz,cleo@example.org,https://www.facebook.com/cleo\n"                        # 5: bad
        "Kim,cy@example.org,\n")                                                       # 6: none
    import_id = start_import("acme", csv_text)
    run_jobs()

    job = load(tenant).job(import_id)
    assert (job.status, job.created_count, job.error_count) == ("completed", 3, 2)
    records = load(tenant).records()
    assert records["ana@example.org"].linkedin_url == "https://fr.linkedin.com/in/ana-lima"
    assert records["ben@example.org"].linkedin_url == "https://linkedin.com/company/contoso"
    assert records["cy@example.org"].linkedin_url is None
    errors = load(tenant).errors(import_id)
    assert [line for line, _ in errors] == [4, 5]
    assert errors[0][1] == ("LinkedIn URL: “12345678901234567890” is not a LinkedIn address: "
                            "use one such as https://www.linkedin.com/in/jane-doe.")
    assert errors[1][1].startswith("LinkedIn URL: “https://www.facebook.com/cleo” is not a "
                                   "LinkedIn address")


def test_the_export_writes_the_address_and_imports_back(app, tenant, manager_client,
                                                          start_import, run_jobs, load):
    for name, url in (("Ana", "https://www.linkedin.com/in/ana-lima"), ("Ben", "")):
        assert manager_client.post("/acme/leads/new", data={
            "last_name": name, "email": f"{name.lower()}@example.org",
            "linkedin_url": url}).status_code == 302
    exported = manager_client.get("/acme/leads/export.csv").get_data()
    lines = exported.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert "LinkedIn URL" in header
    column = header.index("LinkedIn URL")
    assert sorted(line.split(",")[column] for line in lines[1:]) == [
        "", "https://www.linkedin.com/in/ana-lima"]
    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(delete(Record))
        db.session.commit()

    import_id = start_import("acme", exported)
    run_jobs()
    assert load(tenant).job(import_id).error_count == 0
    records = load(tenant).records()
    assert records["ana@example.org"].linkedin_url == "https://www.linkedin.com/in/ana-lima"
    assert records["ben@example.org"].linkedin_url is None
