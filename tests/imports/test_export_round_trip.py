"""Export a filtered list, delete the records, import the file: the same records come back."""

from sqlalchemy import delete

from saas.extensions import db
from saas.records.custom_fields import add_custom_field
from saas.records.models import Record
from saas.tenancy import tenant_context

FIELDS = ("first_name", "last_name", "company", "email", "phone", "lead_source", "status",
          "owner_id", "country", "time_zone", "language", "custom")


def snapshot(records: dict[str, Record]) -> dict[str, tuple]:
    return {email: tuple(getattr(r, f) for f in FIELDS) for email, r in records.items()}


def test_export_then_import_gives_the_same_records(app, tenant, manager, manager_client,
                                                     start_import, run_jobs, load):
    with app.app_context(), tenant_context(tenant.id):
        add_custom_field(record_type="lead", label="Employees", kind="number")
        add_custom_field(record_type="lead", label="Tier", kind="choice", choices="Gold, Silver")
    people = [
        {"first_name": "Ana", "last_name": "Lima", "company": "Fabrikam",
         "email": "ana@fab.example",
         "phone": "+33612345678", "lead_source": "Trade show", "status": "qualified",
         "owner_id": str(manager.id), "country": "FR", "time_zone": "Europe/Paris",
         "language": "fr", "custom.employees": "250", "custom.tier": "Gold"},
        {"first_name": "Bo", "last_name": "=SUM(A1)", "company": "Naïve; \"Quoted\", Ltd",
         "email": "bo@ex.example", "phone": "", "lead_source": "Web", "status": "new",
         "country": "", "time_zone": "America/New_York", "language": "de",
         "custom.tier": "Silver"},
        {"first_name": "Cy", "last_name": "Kim", "company": "", "email": "cy@ex.example",
         "lead_source": "Trade show", "status": "contacted", "time_zone": "Asia/Seoul"},
    ]
    for person in people:
        assert manager_client.post("/acme/leads/new", data=person).status_code == 302
    before = snapshot(load(tenant).records())
    assert [r[FIELDS.index("language")] for r in before.values()] == ["fr", "de", None]

    exported = manager_client.get("/acme/leads/export.csv")
    assert exported.status_code == 200
    content = exported.get_data()  # the response streams: read it before deleting
    header = content.decode("utf-8-sig").splitlines()[0].split(",")
    assert "Language" in header  # the record's language: a code, or empty for the workspace's
    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(delete(Record))
        db.session.commit()

    import_id = start_import("acme", content)
    run_jobs()
    job = load(tenant).job(import_id)
    assert (job.status, job.created_count, job.error_count) == ("completed", 3, 0)
    assert snapshot(load(tenant).records()) == before
