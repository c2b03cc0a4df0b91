"""Several worklist activities at once: complete, skip, snooze or reassign the selected ones.

Each selected activity goes through the same service as its row's button, in its own short
transaction (compare-and-set on its open status): one done meanwhile (by a colleague, another tab,
the engine) is counted as already done and left as it is, and one failure never undoes the
others. A seller acts on their own activities only; a manager on any, and only a manager
reassigns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from saas.auth.models import Role, User, UserStatus
from saas.engine.models import StepRun
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, ngettext
from saas.web.numbers import format_number
from saas.worklist import services

ACTIONS = ("complete", "skip", "snooze", "reassign")
BULK_MAX = 200  # activities in one request: a page of the worklist is 50


@dataclass
class Outcome:
    action: str
    done: int      # activities this request changed
    already: int   # selected activities that were no longer open: reported, not redone


def _mine(ids: list[int], user: User) -> list[int]:
    """The selected activities the user may act on (of the tenant: the scoping is automatic)."""
    stmt = select(StepRun.id).where(StepRun.id.in_(ids))
    if not services.is_manager(user):
        stmt = stmt.where(StepRun.seller_id == user.id)
    return sorted(db.session.execute(stmt).scalars())


def _seller(seller_id: int | None) -> User:
    seller = db.session.execute(select(User).where(
        User.id == (seller_id or 0), User.status == UserStatus.ACTIVE.value)
    ).scalar_one_or_none()
    if seller is None or Role.SELLER.value not in (seller.roles or []):
        raise ServiceError(_("Choose the seller who takes the activities."), field="seller_id")
    return seller


def apply(action: str, ids: list[int], user: User, *, now: datetime,
          until: datetime | None = None, seller_id: int | None = None) -> Outcome:
    """Do `action` to each selected activity the user may act on; checks the action's value
    (the time, the seller) once, before changing anything."""
    if action not in ACTIONS:
        raise ServiceError(_("Choose what to do with the selected activities."), field="action")
    if not ids:
        raise ServiceError(_("Select at least one activity first."), field="ids")
    if action == "snooze":
        if until is None:
            raise ServiceError(_("Choose when the activities should come back."), field="until")
        if until <= now:
            raise ServiceError(_("Choose a time in the future."), field="until")
    if action == "reassign":
        if not services.is_manager(user):
            raise ServiceError(_("Only a sequence manager can reassign activities."),
                               field="action")
        seller_id = _seller(seller_id).id
    done = already = 0
    for step_run_id in _mine(ids, user):
        try:
            if action == "complete":
                services.complete(step_run_id, user.id)
            elif action == "skip":
                services.skip(step_run_id, user.id)
            elif action == "snooze":
                services.snooze(step_run_id, user.id, until, now)
            else:
                services.reassign(step_run_id, seller_id)
            done += 1
        except services.AlreadyDone:
            already += 1
    return Outcome(action, done, already)


def message(outcome: Outcome, seller_name: str = "") -> str:
    """What the request did, for the flash: how many were done, how many already were."""
    n = outcome.done
    count = format_number(n)
    if outcome.action == "complete":
        said = ngettext("%(count)s activity completed.", "%(count)s activities completed.", n,
                        count=count)
    elif outcome.action == "skip":
        said = ngettext("%(count)s activity skipped.", "%(count)s activities skipped.", n,
                        count=count)
    elif outcome.action == "snooze":
        said = ngettext("%(count)s activity snoozed.", "%(count)s activities snoozed.", n,
                        count=count)
    else:
        said = ngettext("%(count)s activity reassigned to %(seller)s.",
                        "%(count)s activities reassigned to %(seller)s.", n, count=count,
                        seller=seller_name)
    if outcome.already:
        said += " " + ngettext(
            "%(count)s was already done: nothing changed for it.",
            "%(count)s were already done: nothing changed for them.", outcome.already,
            count=format_number(outcome.already))
    return said
