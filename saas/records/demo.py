"""Realistic sample records for the demo tenant (deterministic, written in bulk). Their values
are data, in no language; a record in France speaks French (`language`), the others the
workspace's language."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import phonenumbers
from sqlalchemy import insert

from saas.extensions import db
from saas.records.models import LEAD_SOURCES, OPPORTUNITY_STAGES, Record
from saas.tenancy import current_tenant_id
from saas.timeutil import utcnow

FIRST = ["Ava", "Noah", "Mia", "Liam", "Zoe", "Lucas", "Emma", "Hugo", "Chloé", "Mateo", "Sofia",
         "Arjun", "Yuki", "Amara", "Jonas", "Ines", "Omar", "Priya", "Lars", "Maya", "Diego",
         "Hannah", "Kenji", "Fatima", "Oliver", "Elena", "Tomás", "Aisha", "Felix", "Nora"]
LAST = ["Martin", "Bernard", "Dubois", "Smith", "Johnson", "Müller", "Schmidt", "Rossi", "Garcia",
        "Silva", "Tanaka", "Kowalski", "Nguyen", "Okafor", "Larsen", "Moreau", "Patel", "Haddad",
        "Fischer", "Lopez", "Andersson", "Costa", "Weber", "Yilmaz", "Novak", "Brown", "Khan"]
COMPANIES = ["Fabrikam", "Northwind Traders", "Adventure Works", "Tailspin Toys", "Litware",
             "Proseware", "Wide World Importers", "Woodgrove Bank", "Alpine Ski House",
             "Blue Yonder Airlines", "Coho Winery", "Fourth Coffee", "Lucerne Publishing",
             "Margie's Travel", "Trey Research", "Wingtip Toys", "Graphic Design Institute",
             "Humongous Insurance", "Relecloud", "VanArsdel Ltd"]
PLACES = [("FR", "Europe/Paris"), ("US", "America/New_York"), ("US", "America/Los_Angeles"),
          ("GB", "Europe/London"), ("DE", "Europe/Berlin"), ("ES", "Europe/Madrid"),
          ("JP", "Asia/Tokyo"), ("BR", "America/Sao_Paulo"), ("IN", "Asia/Kolkata"),
          ("CA", "America/Toronto")]
LANGUAGE_BY_COUNTRY = {"FR": "fr"}
SOURCE_WEIGHTS = [30, 25, 15, 10, 12, 8]  # Trade show is the most common, as in the lab


def _phone(rng: random.Random, region: str) -> str | None:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    for _ in range(10):
        national = str(example.national_number)
        digits = national[:3] + "".join(rng.choice("0123456789") for _ in national[3:])
        number = phonenumbers.parse(digits, region)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def seed_records(seller_ids: list[int], *, leads: int = 300, opportunities: int = 40) -> int:
    rng = random.Random(2026)  # noqa: S311 - sample data, not security
    now = utcnow()
    rows = []
    for n in range(leads + opportunities):
        is_lead = n < leads
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(COMPANIES)
        country, tz = rng.choice(PLACES)
        created = now - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1440))
        domain = company.lower().replace("'", "").replace(" ", "") + ".example"
        row = {
            "tenant_id": current_tenant_id(),
            "record_type": "lead" if is_lead else "opportunity",
            "first_name": first, "last_name": last, "company": company,
            "email": f"{first.lower()}.{last.lower()}{n}@{domain}".replace("é", "e")
                     .replace("ü", "u").replace("á", "a"),
            "phone": _phone(rng, country),
            "lead_source": rng.choices(LEAD_SOURCES, SOURCE_WEIGHTS)[0],
            "status": (rng.choices(["new", "contacted", "qualified", "disqualified"],
                                   [50, 30, 12, 8])[0] if is_lead
                       else rng.choices(["open", "won", "lost"], [70, 18, 12])[0]),
            "stage": None if is_lead else rng.choice(OPPORTUNITY_STAGES),
            "estimated_value": None if is_lead else Decimal(rng.randrange(2_000, 250_000, 500)),
            "close_date": None if is_lead else date.today() + timedelta(days=rng.randint(5, 180)),
            "owner_id": rng.choice(seller_ids) if seller_ids and rng.random() < 0.8 else None,
            "country": country, "time_zone": tz, "custom": {},
            # French-speaking places write in French; the others follow the workspace's language
            "language": LANGUAGE_BY_COUNTRY.get(country),
            "created_at": created, "updated_at": created,
        }
        rows.append(row)
    db.session.execute(insert(Record), rows)
    return len(rows)
