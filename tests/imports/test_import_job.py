"""The import job, run by the real worker on the test Redis: what a person finds afterwards."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, text

from saas.extensions import db
from saas.records.custom_fields import add_custom_field
from saas.records.models import Record
from saas.tenancy import tenant_context


def add_lead(app, tenant, **values) -> int:
    row = {"tenant_id": tenant.id, "record_type": "lead", "first_name": "", "last_name": "",
           "company": "", "status": "new", "time_zone": "UTC", "custom": {}, **values}
    with app.app_context(), tenant_context(tenant.id):
        record_id = db.session.execute(insert(Record).returning(Record.id), [row]).scalar_one()
        db.session.commit()
    return record_id


def test_a_good_file_is_imported_with_typed_values(app, tenant, manager, manager_client,
                                                   start_import, run_jobs, load):
    csv_text = (
        "First name,Last name,Company,Email,Phone,Lead source,Country,Owner\n"
        "Ana,Lima,Fabrikam,Ana.Lima@Fabrikam.example,+33 6 12 34 56 78,Trade show,France,"
        "mo@acme.example\n"
        "Ben,Okafor,Contoso,ben@contoso.example,020 7946 0958,web,United Kingdom,\n"
        "Chloé,Martin,,chloe@example.org,,,,Mo Manager\n")
    import_id = start_import("acme", csv_text)
    assert load(tenant).job(import_id).status == "queued"
    run_jobs()

    job = load(tenant).job(import_id)
    assert (job.status, job.total_rows, job.created_count, job.error_count) == \
        ("completed", 3, 3, 0)
    records = load(tenant).records()
    assert set(records) == {"ana.lima@fabrikam.example", "ben@contoso.example",
                            "chloe@example.org"}
    ana = records["ana.lima@fabrikam.example"]
    assert (ana.first_name, ana.last_name, ana.company) == ("Ana", "Lima", "Fabrikam")
    assert (ana.phone, ana.lead_source, ana.country, ana.owner_id) == \
        ("+33612345678", "Trade show", "FR", manager.id)
    ben = records["ben@contoso.example"]
    assert (ben.phone, ben.lead_source, ben.country, ben.owner_id) == \
        ("+442079460958", "Web", "GB", None)
    assert records["chloe@example.org"].owner_id == manager.id
    assert records["chloe@example.org"].status == "new"

    page = manager_client.get(f"/acme/imports/{import_id}").get_data(as_text=True)
    assert "Import finished" in page and 'hx-trigger' not in page


def test_bad_lines_are_reported_with_their_line_numbers_and_downloadable(
        app, tenant, manager_client, start_import, run_jobs, load):
    csv_text = (
        "First name,Last name,Email,Phone,Lead source,Company\n"        # line 1
        "Ana,Lima,ana@fabrikam.example,+33612345678,Web,Fabrikam\n"     # 2: good
        "Bob,,bob@fabrikam,,,Fabrikam\n"                                # 3: bad email
        'Cleo,Diaz,cleo@example.org,,,"Two-line\ncompany name"\n'        # 4-5: good
        ",,,0612345678,Magazine,Nobody\n"                               # 6: three problems
        "\n"                                                            # 7: blank, ignored
        "Dan,Ek,dan@example.org,,,Acme,extra\n"                         # 8: one value too many
        "Eve,Ng,eve@example.org,,,,\n")                                 # 9: good (empty extra)
    import_id = start_import("acme", csv_text)
    run_jobs()

    job = load(tenant).job(import_id)
    assert (job.status, job.total_rows, job.created_count, job.error_count) == \
        ("completed", 6, 3, 3)
    assert set(load(tenant).records()) == {"ana@fabrikam.example", "cleo@example.org",
                                           "eve@example.org"}
    errors = load(tenant).errors(import_id)
    assert [line for line, _ in errors] == [3, 6, 8]
    assert errors[0][1].startswith("Email: “bob@fabrikam” is not a valid email address")
    assert errors[1][1] == (
        "Last name: Enter a first or last name.; "
        "Phone: “0612345678”: add the country code (e.g. +44 20 7946 0958) or a country.; "
        "Lead source: “Magazine” is not one of: Trade show, Web, Referral, Advertisement, "
        "Partner, Other.")
    assert errors[2][1].startswith("This line has 7 values but the header names 6 columns")

    page = manager_client.get(f"/acme/imports/{import_id}").get_data(as_text=True)
    assert "3 lines not imported because of errors" in page
    assert "<td class=\"num\">6</td>" in page and "Magazine" in page
    assert f"/acme/imports/{import_id}/errors.csv" in page

    download = manager_client.get(f"/acme/imports/{import_id}/errors.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    lines = download.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "line,message"
    assert lines[1].startswith("3,Email: “bob@fabrikam” is not a valid email address")
    assert [line.split(",")[0] for line in lines[1:]] == ["3", "6", "8"]


def test_a_file_with_a_bom_and_semicolons_is_read(app, tenant, start_import, run_jobs, load):
    content = ("\ufeffPrénom;Nom;E-mail;Société;Source\r\n"
               "José;Núñez;jose@example.es;Café, Lda;Salon\r\n"
               "Zoë;Brontë;zoe@example.org;\"Quote \"\"this\"\"; ok\";Referral\r\n").encode()
    import_id = start_import("acme", content, change={4: ""})  # "Source" is not imported
    run_jobs()

    job = load(tenant).job(import_id)
    assert (job.delimiter, job.headers[0]) == (";", "Prénom")
    assert (job.status, job.created_count, job.error_count) == ("completed", 2, 0)
    records = load(tenant).records()
    assert (records["jose@example.es"].first_name, records["jose@example.es"].company) == \
        ("José", "Café, Lda")
    assert records["zoe@example.org"].company == 'Quote "this"; ok'
    assert records["zoe@example.org"].lead_source is None


def test_duplicates_skipped_keep_the_existing_record_and_the_first_line(
        app, tenant, make_tenant, manager_client, start_import, run_jobs, load):
    add_lead(app, tenant, first_name="Old", last_name="Lead", email="known@example.com",
             company="Old Co")
    other = make_tenant("globex")
    add_lead(app, other, last_name="Elsewhere", email="new@example.com")  # another tenant's
    csv_text = ("First name,Last name,Email,Company\n"
                "Known,Again,KNOWN@example.com,New Co\n"
                "First,Line,new@example.com,First Co\n"
                "Second,Line,new@example.com,Second Co\n"
                "No,Email,,Nomail Co\n")
    import_id = start_import("acme", csv_text, mode="skip")
    run_jobs()

    job = load(tenant).job(import_id)
    assert (job.created_count, job.updated_count, job.skipped_count, job.error_count) == \
        (2, 0, 2, 0)
    records = load(tenant).records()
    assert records["known@example.com"].company == "Old Co"
    assert records["new@example.com"].company == "First Co"
    assert len(records) == 3
    page = manager_client.get(f"/acme/imports/{import_id}").get_data(as_text=True)
    assert "repeated earlier in the file (the first line counts)" in page


def test_duplicates_updated_change_only_the_imported_columns_and_the_last_line_wins(
        app, tenant, manager_client, start_import, run_jobs, load):
    with app.app_context(), tenant_context(tenant.id):
        add_custom_field(record_type="lead", label="Tier", kind="choice", choices="Gold\nSilver")
        add_custom_field(record_type="lead", label="Region", kind="text")
    known = add_lead(app, tenant, first_name="Old", last_name="Name", email="known@example.com",
                     company="Old Co", phone="+33612345678",
                     custom={"tier": "Gold", "region": "North"})
    before = load(tenant).records()["known@example.com"].updated_at
    csv_text = ("Email,Company,Tier,First name\n"
                "known@example.com,Newer Co,Silver,Kim\n"
                "fresh@example.com,Early Co,Gold,Fay\n"
                "known@example.com,Newest Co,,Kai\n"
                "fresh@example.com,Late Co,Silver,Flo\n")
    import_id = start_import("acme", csv_text, mode="update")
    run_jobs()

    job = load(tenant).job(import_id)
    assert (job.created_count, job.updated_count, job.skipped_count, job.error_count) == \
        (1, 1, 2, 0)
    records = load(tenant).records()
    updated = records["known@example.com"]
    assert updated.id == known
    assert (updated.first_name, updated.company) == ("Kai", "Newest Co")  # the last line
    assert (updated.last_name, updated.phone) == ("Name", "+33612345678")  # not imported
    assert updated.custom == {"region": "North"}  # Tier emptied by the last line; Region kept
    assert updated.updated_at > before
    fresh = records["fresh@example.com"]
    assert (fresh.first_name, fresh.company, fresh.custom) == ("Flo", "Late Co",
                                                               {"tier": "Silver"})
    page = manager_client.get(f"/acme/imports/{import_id}").get_data(as_text=True)
    assert "repeated further down the file (the last line counts)" in page


def test_custom_fields_are_imported_like_standard_ones(app, tenant, start_import, run_jobs,
                                                       load):
    with app.app_context(), tenant_context(tenant.id):
        add_custom_field(record_type="opportunity", label="Tier", kind="choice",
                         choices="Gold\nSilver")
        add_custom_field(record_type="opportunity", label="Seats", kind="number")
        add_custom_field(record_type="opportunity", label="Renewal", kind="date")
        add_custom_field(record_type="opportunity", label="Notes", kind="text")
    csv_text = ("Last name,Email,Stage,Estimated value,Close date,Tier,Seats,Renewal,Notes\n"
                "Lima,ana@example.com,propose,\"12 500,50\",2027-03-31,gold,25,2027-01-01,Hi\n"
                "Okafor,ben@example.com,close,100,2027-04-01,Bronze,many,01/02/2027,\n")
    import_id = start_import("acme", csv_text, record_type="opportunity")
    run_jobs()

    job = load(tenant).job(import_id)
    assert (job.status, job.created_count, job.error_count) == ("completed", 1, 1)
    ana = load(tenant).records("opportunity")["ana@example.com"]
    assert (ana.stage, str(ana.estimated_value), ana.close_date, ana.status) == \
        ("propose", "12500.50", date(2027, 3, 31), "open")
    assert ana.custom == {"tier": "Gold", "seats": 25.0, "renewal": "2027-01-01", "notes": "Hi"}
    [(line, message)] = load(tenant).errors(import_id)
    assert line == 3
    assert "Tier: “Bronze” is not one of: Gold, Silver." in message
    assert "Seats: “many” is not a number." in message
    assert "Renewal: “01/02/2027” is not a date; use YYYY-MM-DD." in message


def test_a_failure_while_writing_leaves_nothing_and_says_so(app, tenant, start_import,
                                                          run_jobs, load):
    """A database error after thousands of rows were written: all rolled back, failed."""
    rows = "".join(f"First{i},{'Boom' if i == 4500 else f'Last{i}'},p{i}@example.com\n"
                   for i in range(5000))
    import_id = start_import("acme", "First name,Last name,Email\n" + rows)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(
                "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                "IF NEW.last_name = 'Boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; "
                "END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_boom BEFORE INSERT ON record "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"))
    try:
        run_jobs()
    finally:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_boom ON record"))
            conn.execute(text("DROP FUNCTION refuse_boom()"))
    job = load(tenant).job(import_id)
    assert job.status == "failed"
    assert job.failure_reason.startswith("Something went wrong on our side while importing; "
                                         "nothing was imported. Start it again")
    assert load(tenant).records() == {}
    assert load(tenant).errors(import_id) == []


def test_the_progress_fragment_polls_until_the_import_has_finished(
        app, tenant, manager_client, start_import, run_jobs):
    import_id = start_import("acme", "Last name,Email\nLima,ana@example.com\n")
    progress = f"/acme/imports/{import_id}/progress"
    queued = manager_client.get(progress).get_data(as_text=True)
    assert queued.lstrip().startswith("<section id=\"import-state\"")  # a fragment, no layout
    assert f'hx-get="{progress}" hx-trigger="every 1s" hx-swap="outerHTML"' in queued
    assert "Waiting for a worker" in queued

    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(text("UPDATE import_job SET status = 'running', total_rows = 60000, "
                                "processed_rows = 12000"))
        db.session.commit()
    running = manager_client.get(progress).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in running
    assert 'max="60000" value="12000"' in running and "Importing… 20%" in running
    assert "12,000 of 60,000 lines checked" in running
    # Without JavaScript, the job page shows the same state.
    assert "Importing… 20%" in manager_client.get(f"/acme/imports/{import_id}").get_data(
        as_text=True)

    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(text("UPDATE import_job SET status = 'queued'"))
        db.session.commit()
    run_jobs()
    finished = manager_client.get(progress).get_data(as_text=True)
    assert "Import finished" in finished and "hx-trigger" not in finished


def test_cells_the_export_guarded_against_formulas_import_as_they_were(
        app, tenant, start_import, run_jobs, load):
    csv_text = ("\ufeffLast name,Company,Email,Phone,Estimated value\n"
                "Lima,'=Equals Inc,ana@example.com,+33612345678,'-100\n")
    import_id = start_import("acme", csv_text, record_type="opportunity")
    run_jobs()
    assert load(tenant).errors(import_id) == []
    ana = load(tenant).records("opportunity")["ana@example.com"]
    assert (ana.company, ana.phone, str(ana.estimated_value)) == \
        ("=Equals Inc", "+33612345678", "-100.00")
