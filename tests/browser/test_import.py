"""A sequence manager imports a CSV file, follows the progress bar, reads the bad line, finds
the good ones in the Leads list. A real worker process runs the job, as in production."""

from __future__ import annotations

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from tests.browser.test_records import sign_in
from tests.imports.test_interrupted import ROOT, worker_env

pytestmark = pytest.mark.browser

CSV = ("First name;Last name;Company;E-mail;Lead source\n"
       "Ana;Lima;Fabrikam;ana.lima@fabrikam.example;Trade show\n"
       "Ben;Okafor;Contoso;ben@contoso.example;Web\n"
       "Bad;Address;Nowhere;bad@nowhere;Web\n"
       "Chloé;Martin;Northwind;chloe@northwind.example;Referral\n")


@pytest.fixture
def worker():
    """`python -m worker` against the test database and Redis, stopped at the end."""
    process = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=worker_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_import_a_csv_file_and_find_the_good_lines(live_server, page, make_tenant, make_user,
                                                    worker):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example",
              name="Mo Manager")
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.goto(f"{live_server}/contoso/imports")
    expect(page.get_by_text("No imports yet.")).to_be_visible()
    page.get_by_role("link", name="Import a CSV file").first.click()
    page.get_by_label("CSV file").set_input_files(
        {"name": "trade-show.csv", "mimeType": "text/csv", "buffer": CSV.encode()})
    page.get_by_role("button", name="Upload and choose the columns").click()

    expect(page.get_by_role("heading", name="Choose the columns")).to_be_visible()
    expect(page.get_by_label("E-mail", exact=True)).to_have_value("email")
    expect(page.get_by_label("Lead source", exact=True)).to_have_value("lead_source")
    expect(page.locator("#preview tbody tr")).to_have_count(4)
    page.get_by_label("Skip the line and leave the existing record as it is").check()
    page.get_by_role("button", name="Start import").click()

    # The progress section polls until the worker has finished; no reload needed.
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=30_000)
    summary = page.locator("#import-summary")
    expect(summary.locator("div", has_text="Created")).to_contain_text("3")
    expect(summary.locator("div", has_text="Lines with errors")).to_contain_text("1")
    expect(page.get_by_text("1 line not imported because of errors")).to_be_visible()
    error_row = page.locator("#import-errors tbody tr")
    expect(error_row).to_have_count(1)
    expect(error_row.locator("td").first).to_have_text("4")
    expect(error_row).to_contain_text("Email: “bad@nowhere” is not a valid email address")
    expect(page.get_by_role("link", name="Download the errors (CSV)")).to_be_visible()

    # The Leads list (records area) shows the three good lines.
    page.get_by_role("link", name="See your leads").click()
    rows = page.locator("#records tbody tr")
    expect(rows).to_have_count(3)
    for name in ("Ana Lima", "Ben Okafor", "Chloé Martin"):
        expect(rows.filter(has_text=name)).to_have_count(1)
    expect(page.get_by_text("bad@nowhere")).to_have_count(0)
