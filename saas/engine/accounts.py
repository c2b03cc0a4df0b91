"""Stop the whole account: when one person of a company replies or unsubscribes, the others of
that company running in the same sequence exit too (the sequence setting `stop_account`, off by
default).

The same account: for leads, the same company name (case- and space-insensitive, an empty name
groups nobody); for any record, the same email domain, unless it is a free or consumer mail
domain (`data/free_mail_domains.txt`): two gmail.com addresses are strangers.

`stop_accounts` runs in the transaction of the exit that causes it (`saas.engine.events`), after
that exit: one statement finds the account's running enrollments in the same lineage, and
`lifecycle.end_enrollments` ends them, locking them in id order (the one lock order) and
cancelling their live step runs. Only the replier's own company and domain count: a colleague
who exits this way does not stop their own colleagues in turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from importlib.resources import files

from sqlalchemy import and_, func, or_, select

from saas.engine.lifecycle import end_enrollments
from saas.engine.models import RUNNING_STATUSES, Enrollment, EnrollmentStatus
from saas.engine.sql import id_in
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Sequence

SETTING = "stop_account"
# The exit of the person who replied or unsubscribed -> the exit of the others at the company.
ACCOUNT_REASONS = {"replied": "account_replied", "unsubscribed": "account_unsubscribed"}
# After a "name.*" entry: a country ending, one or two short labels (fr, co.uk, com.br).
_COUNTRY_ENDING = re.compile(r"^[a-z]{2,3}(\.[a-z]{2,3})?$")


@cache
def _free_mail() -> tuple[frozenset[str], tuple[str, ...]]:
    """The list's exact domains, and the names its "name.*" entries stand for."""
    text = files("saas.engine").joinpath("data/free_mail_domains.txt").read_text("utf-8")
    exact: set[str] = set()
    names: list[str] = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if entry.endswith(".*"):
            names.append(entry[:-1])  # "yahoo."
        elif entry:
            exact.add(entry)
    return frozenset(exact), tuple(names)


def is_free_mail(domain: str) -> bool:
    domain = domain.strip().lower().rstrip(".")
    exact, names = _free_mail()
    if domain in exact:
        return True
    return any(domain.startswith(name) and _COUNTRY_ENDING.match(domain[len(name):])
               for name in names)


def account_domain(email: str | None) -> str | None:
    """The domain that groups an address with its colleagues; None for a free-mail address
    or none."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    if not domain or "." not in domain or is_free_mail(domain):
        return None
    return domain


def _company_key(column):
    """The company name as compared: lower case, without spaces (in SQL on both sides, so that
    both are folded the same way)."""
    return func.lower(func.replace(column, " ", ""))


def _same_account(record_type: str, company: str | None, email: str | None):
    """The condition on `Record` that names this person's account, or None (nothing groups)."""
    clauses = []
    company = (company or "").replace(" ", "")
    if record_type == "lead" and company.strip():
        clauses.append(and_(Record.record_type == "lead",
                            _company_key(Record.company) == func.lower(company)))
    domain = account_domain(email)
    if domain:
        escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(func.lower(Record.email).like(f"%@{escaped}", escape="\\"))
    return or_(*clauses) if clauses else None


def stop_accounts(enrollment_ids: Iterable[int], reason: str,
                  now: datetime | None = None) -> int:
    """These enrollments just exited because their person replied (`reason` "replied") or
    unsubscribed ("unsubscribed"): in the sequences whose setting asks for it, the other
    running enrollments of the same account, in the same lineage, exit ("account_replied" or
    "account_unsubscribed"). Returns how many ended. The caller commits."""
    code = ACCOUNT_REASONS.get(reason)
    sources = sorted(set(enrollment_ids))
    if code is None or not sources:
        return 0
    people = db.session.execute(
        select(Enrollment.lineage_id, Sequence.settings, Record.record_type, Record.company,
               Record.email)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .join(Record, Record.id == Enrollment.record_id)
        .where(id_in(Enrollment.id, sources))).all()
    accounts = []
    for person in people:
        if not (person.settings or {}).get(SETTING, False):
            continue
        same = _same_account(person.record_type, person.company, person.email)
        if same is not None:
            accounts.append(and_(Enrollment.lineage_id == person.lineage_id, same))
    if not accounts:
        return 0
    others = db.session.execute(
        select(Enrollment.id).join(Record, Record.id == Enrollment.record_id)
        .where(Enrollment.status.in_(RUNNING_STATUSES), or_(*accounts),
               Enrollment.id.not_in(sources))).scalars().all()
    return end_enrollments(others, EnrollmentStatus.EXITED.value, code, now)
