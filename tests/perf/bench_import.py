"""Benchmark: the CSV import job on a realistic file.

    python -m tests.perf.bench_import --rows 100000

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench` database),
creates a tenant with a few sellers and custom fields, generates a CSV like a real export (names,
companies, emails, E.164 and national phones, lead sources, countries, owners, a custom choice,
a few bad lines and repeated emails), then runs the import job in-process, as the worker would.
Prints one JSON line last: {"rows": ..., "seconds": ..., "rows_per_s": ...}. Not a test: nothing
here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

import phonenumbers
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from saas import create_app
from saas.auth.models import Role, Tenant, User
from saas.extensions import db
from saas.imports.job import run_import
from saas.imports.models import ImportJob, ImportStatus
from saas.records.models import CustomField, Record
from saas.tenancy import tenant_context
from tests.perf.common import ensure_database

DATABASE_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")

FIRST = ["Ava", "Noah", "Mia", "Liam", "Zoé", "Lucas", "Emma", "Hugo", "Inès", "Omar", "Sofía",
         "Jonas", "Aiko", "Mateus", "Chloé", "Björn"]
LAST = ["Martin", "Bernard", "Dubois", "Okafor", "Nguyen", "García", "Müller", "Rossi", "Silva",
        "Kowalski", "O'Brien", "Smith", "Tanaka", "Johansson", "Lefèvre", "Moreau"]
COMPANY = ["Fabrikam", "Contoso", "Northwind", "Tailspin Toys", "Wide World Importers",
           "Adventure Works", "Litware", "Proseware", "Coho Winery", "Alpine Ski House"]
SOURCES = ["Trade show", "Web", "Referral", "Advertisement", "Partner", "Other", ""]
COUNTRIES = [("France", "+33 6 ## ## ## ##"), ("GB", "+44 7911 ######"),
             ("Germany", "+49 151 ########"), ("US", "+1 415 5## ####"),
             ("Spain", "+34 612 ## ## ##"), ("FR", "06 ## ## ## ##")]
HEADER = ("First name;Last name;Company;Email;Phone;Lead source;Country;Owner;Tier;Seats\n")


def build(app) -> tuple[int, list[str]]:
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        tenant = Tenant(slug="bench", name="Bench", licence="sales_enterprise", settings={},
                        opportunities_enabled=False, time_zone="Europe/Paris")
        db.session.add(tenant)
        db.session.flush()
        owners = []
        with tenant_context(tenant.id):
            for n in range(5):
                email = f"seller{n}@bench.example"
                db.session.add(User(email=email, name=f"Seller {n}", password_hash=None,
                                    roles=[Role.SELLER.value], status="active"))
                owners.append(email)
            db.session.add(CustomField(record_type="lead", key="tier", label="Tier",
                                       kind="choice", choices=["Gold", "Silver", "Bronze"]))
            db.session.add(CustomField(record_type="lead", key="seats", label="Seats",
                                       kind="number", choices=[]))
            db.session.commit()
        return tenant.id, owners


def realistic_phone(rng: random.Random, pattern: str) -> str:
    """A number in an allocated range (a file from a CRM has few invalid numbers)."""
    while True:
        phone = "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)
        region = "FR" if phone.startswith("0") else None
        if phonenumbers.is_valid_number(phonenumbers.parse(phone, region)):
            return phone


def make_csv(rows: int, owners: list[str], seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines, previous_email = [HEADER], ""
    for i in range(rows):
        country, pattern = COUNTRIES[i % len(COUNTRIES)]
        phone = realistic_phone(rng, pattern)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = rng.choice(COMPANY).lower().replace(" ", "")
        email = f"{first.lower()}.{last.lower().replace(chr(39), '')}{i}@{domain}.example"
        if i % 1000 == 999:
            email = f"broken{i}@nowhere"  # a bad line now and then
        elif i % 2500 == 1:
            email = previous_email  # an email repeated on the next line
        previous_email = email
        company = rng.choice(COMPANY)
        if rng.random() < 0.05:
            company = f'"{company}; EMEA"'
        lines.append(";".join([
            first, last, company, email, phone, rng.choice(SOURCES), country,
            rng.choice([*owners, ""]), rng.choice(["Gold", "Silver", "Bronze", ""]),
            str(rng.randrange(1, 500))]) + "\n")
    return "\ufeff".encode() + "".join(lines).encode()


MAPPING = ["first_name", "last_name", "company", "email", "phone", "lead_source", "country",
           "owner_id", "custom.tier", "custom.seats"]


def queue_import(app, tenant_id: int, content: bytes, mode: str) -> int:
    with app.app_context(), tenant_context(tenant_id):
        job = ImportJob(record_type="lead", filename="bench.csv", content=content,
                        delimiter=";", headers=HEADER.strip().split(";"), duplicate_mode=mode,
                        status=ImportStatus.QUEUED.value,
                        mapping={str(i): key for i, key in enumerate(MAPPING)})
        db.session.add(job)
        db.session.commit()
        return job.id


def main() -> None:
    ensure_database(DATABASE_URL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--mode", choices=["create", "update"], default="create",
                        help="create: a new tenant's first import; update: the same file "
                             "imported again, updating every record by email")
    args = parser.parse_args()
    app = create_app({"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                      "SECRET_KEY": "bench-" * 8, "WTF_CSRF_ENABLED": False})
    tenant_id, owners = build(app)
    content = make_csv(args.rows, owners)
    if args.mode == "update":
        with app.app_context():
            run_import(queue_import(app, tenant_id, content, "skip"), tenant_id)
    import_id = queue_import(app, tenant_id, content,
                             "update" if args.mode == "update" else "skip")
    with app.app_context():
        started = time.perf_counter()
        run_import(import_id, tenant_id)
        seconds = time.perf_counter() - started
    with app.app_context(), tenant_context(tenant_id):
        job = db.session.execute(select(ImportJob).where(ImportJob.id == import_id)).scalar_one()
        records = db.session.execute(select(func.count()).select_from(Record)).scalar_one()
        summary = {"mode": args.mode, "status": job.status, "created": job.created_count,
                   "updated": job.updated_count, "skipped": job.skipped_count,
                   "errors": job.error_count, "records": records,
                   "file_mb": round(len(content) / 1e6, 1)}
    print(json.dumps(summary))
    print(json.dumps({"rows": args.rows, "seconds": round(seconds, 2),
                      "rows_per_s": round(args.rows / seconds)}))


if __name__ == "__main__":
    main()
