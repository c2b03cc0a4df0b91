"""A sequence's life: create, settings, activate, next version, deactivate, clone, delete."""

from __future__ import annotations

import re

from sqlalchemy import delete, select, update

from saas.admin import audit
from saas.auth.tenants import current_tenant
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l, ngettext
from saas.sequences import editing, queries, rules
from saas.sequences.library import BY_KEY, in_language
from saas.sequences.models import Sequence, SequenceStatus
from saas.signals import answers, sequence_activated, sequence_deactivated, sequence_deleting
from saas.timeutil import utcnow

DEFAULT_SETTINGS = {"exit_on_reply": True, "exit_on_unsubscribe": True, "exit_on_bounce": True,
                    "stop_account": False,  # the others at the company too (engine/accounts.py)
                    "window": None, "goal": None, "allow_skip_wait": False,
                    "seller_daily_cap": None,
                    "working_time": False}  # waits in the tenant's calendar (engine/working_time)
# A sequence made in the app lets sellers skip a wait unless its manager says otherwise (the
# setting shows on the wait's tile and can change while the version is active); an imported
# sequence keeps the value it was exported with.
NEW_SEQUENCE_SETTINGS = {**DEFAULT_SETTINGS, "allow_skip_wait": True}
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("0", "1", "2", "3", "4", "5", "6")  # Monday to Sunday, as the form sends them


class SequenceInvalid(ServiceError):
    """`errors` by form field (details and settings forms)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_l("Some fields need attention."))
        self.errors = errors


class CannotActivate(ServiceError):
    def __init__(self, problems: list[rules.Problem]):
        super().__init__(_l("Fix these before activating the sequence."))
        self.problems = problems


def check_details(name: str, record_type: str) -> dict[str, str]:
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("Enter a name.")
    elif len(name.strip()) > 120:
        errors["name"] = _("Use at most 120 characters.")
    if record_type not in current_tenant().record_types:
        errors["record_type"] = _("Choose a record type enabled in this workspace.")
    return errors


def create_sequence(*, name: str, description: str, record_type: str, start: str | None = None,
                    steps: list | None = None, settings: dict | None = None,
                    user_id: int | None = None) -> Sequence:
    """A new draft (version 1 of a new lineage), empty, from a built-in template (`start`) or
    from a nested step tree (`steps`, already checked by the caller). A built-in template's
    steps are written in the page's language: from then on they are the tenant's own text."""
    errors = check_details(name, record_type)
    if start and start not in BY_KEY:
        errors["start"] = _("Choose a template from the list.")
    if errors:
        raise SequenceInvalid(errors)
    sequence = Sequence(name=name.strip(), description=(description or "").strip(),
                        record_type=record_type, status=SequenceStatus.DRAFT.value, version=1,
                        settings={**NEW_SEQUENCE_SETTINGS, **(settings or {})},
                        created_by_id=user_id)
    db.session.add(sequence)
    db.session.flush()
    sequence.lineage_id = sequence.id
    if start:
        editing.create_nested(sequence.id, in_language(BY_KEY[start].steps))
    elif steps:
        editing.create_nested(sequence.id, steps)
    audit.record("sequence.created", sequence.name, start=start or "scratch")
    db.session.commit()
    return sequence


def save_details(sequence: Sequence, *, name: str, description: str) -> None:
    editing.require_draft(sequence)
    errors = check_details(name, sequence.record_type)
    if errors:
        raise SequenceInvalid(errors)
    sequence.name, sequence.description = name.strip(), (description or "").strip()
    db.session.commit()


def parse_settings(form) -> tuple[dict, dict[str, str]]:
    """The settings form as `Sequence.settings`, and errors by field."""
    errors: dict[str, str] = {}
    settings = {key: form.get(key) == "y" for key in
                ("exit_on_reply", "exit_on_unsubscribe", "exit_on_bounce", "stop_account",
                 "allow_skip_wait", "working_time")}
    window = None
    if form.get("window_enabled") == "y":
        days = sorted({int(d) for d in form.getlist("window_days") if d in WEEKDAYS})
        start, end = form.get("window_start") or "", form.get("window_end") or ""
        if not days:
            errors["window_days"] = _("Choose at least one day of the week.")
        if not (_TIME.match(start) and _TIME.match(end)):
            errors["window_start"] = _("Enter the hours as HH:MM, e.g. 08:00 and 18:00.")
        elif start >= end:
            errors["window_start"] = _("The window must end after it starts.")
        window = {"days": days, "start": start, "end": end}
    settings["window"] = window
    goal_field, goal_value = (form.get("goal_field") or "").strip(), \
        (form.get("goal_value") or "").strip()
    settings["goal"] = {"field": goal_field, "value": goal_value} if goal_field else None
    if goal_field and not goal_value:
        errors["goal_value"] = _("Enter the value the field must reach, e.g. qualified.")
    cap = (form.get("seller_daily_cap") or "").strip()
    settings["seller_daily_cap"] = None
    if cap:
        if not (cap.isascii() and cap.isdigit()) or not 1 <= int(cap) <= 10000:
            errors["seller_daily_cap"] = _("Enter a whole number from 1 to 10000, or leave "
                                           "empty.")
        else:
            settings["seller_daily_cap"] = int(cap)
    return settings, errors


def clean_settings(raw: dict) -> dict:
    """Settings from an import, kept only where their shape is right (else the default)."""
    settings = dict(DEFAULT_SETTINGS)
    for key in ("exit_on_reply", "exit_on_unsubscribe", "exit_on_bounce", "stop_account",
                "allow_skip_wait", "working_time"):
        if isinstance(raw.get(key), bool):
            settings[key] = raw[key]
    window = raw.get("window")
    if isinstance(window, dict) and isinstance(window.get("days"), list) and \
            all(isinstance(d, int) and 0 <= d <= 6 for d in window["days"]) and \
            _TIME.match(str(window.get("start"))) and _TIME.match(str(window.get("end"))):
        settings["window"] = {"days": window["days"], "start": window["start"],
                              "end": window["end"]}
    goal = raw.get("goal")
    if isinstance(goal, dict) and goal.get("field") and goal.get("value"):
        settings["goal"] = {"field": str(goal["field"]), "value": str(goal["value"])}
    cap = raw.get("seller_daily_cap")
    if isinstance(cap, int) and not isinstance(cap, bool) and 1 <= cap <= 10000:
        settings["seller_daily_cap"] = cap
    return settings


def save_settings(sequence: Sequence, form) -> None:
    editing.require_draft(sequence)
    settings, errors = parse_settings(form)
    if settings["goal"]:
        from saas.records.fields import fields_for

        if settings["goal"]["field"] not in fields_for(sequence.record_type):
            errors["goal_field"] = _("Choose a field of these records.")
    errors.update(check_details(form.get("name", ""), sequence.record_type))
    if errors:
        raise SequenceInvalid(errors)
    sequence.name = form.get("name", "").strip()
    sequence.description = (form.get("description") or "").strip()
    sequence.settings = {**(sequence.settings or {}), **settings}
    sequence.updated_at = utcnow()
    audit.record("sequence.settings", sequence.name)
    db.session.commit()


def set_skip_wait(sequence: Sequence, allowed: bool) -> None:
    """Whether sellers may skip a wait, on an active version too (its other settings are
    read-only): it moves no run's due time, a wait only ends early when a seller asks. Written
    only while the version is still active (compare-and-set on its status)."""
    settings = {**(sequence.settings or {}), "allow_skip_wait": allowed}
    changed = db.session.execute(
        update(Sequence).where(Sequence.id == sequence.id,
                               Sequence.status == SequenceStatus.ACTIVE.value)
        .values(settings=settings, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        db.session.rollback()
        raise ServiceError(_("This version is no longer active: nothing changed."))
    audit.record("sequence.skip_wait", sequence.name, allowed=allowed)
    db.session.commit()


def activate(sequence: Sequence, *, understood: bool) -> None:
    """Publishes a draft: it becomes the version new connections get; an older active version
    is retired (its running records finish on it)."""
    editing.lock(sequence)
    if sequence.status == SequenceStatus.ACTIVE:
        raise ServiceError(_l("This version is already active."))
    if sequence.status == SequenceStatus.RETIRED:
        raise ServiceError(_l("A newer version replaced this one: open the newest version."))
    if sequence.status == SequenceStatus.INACTIVE and \
            queries.newest_draft(sequence.lineage_id) is not None:
        raise ServiceError(_l("A newer draft exists: activate that one."))
    if not understood:
        raise ServiceError(_l("Tick “I understand” to confirm the activation."),
                           field="understood")
    problems = queries.problems_of(sequence)
    if problems:
        raise CannotActivate(problems)
    db.session.execute(
        update(Sequence).where(Sequence.lineage_id == sequence.lineage_id,
                               Sequence.id != sequence.id,
                               Sequence.status == SequenceStatus.ACTIVE.value)
        .values(status=SequenceStatus.RETIRED.value))
    sequence.status = SequenceStatus.ACTIVE.value
    sequence.activated_at = utcnow()
    sequence_activated.send(None, sequence_id=sequence.id)  # its A/B tests start with it
    audit.record("sequence.activated", sequence.name, version=sequence.version)
    db.session.commit()


def edit_version(sequence: Sequence) -> Sequence:
    """The draft to edit: the lineage's open draft, or a new version copied from this one."""
    if sequence.status == SequenceStatus.DRAFT:
        return sequence
    # two "Edit" clicks take turns on the lineage's first row: one draft, never two
    db.session.execute(select(Sequence.id).where(Sequence.id == sequence.lineage_id)
                       .with_for_update())
    draft = queries.newest_draft(sequence.lineage_id)
    if draft is not None:
        return draft
    newest = queries.versions(sequence.lineage_id)[0]
    draft = Sequence(lineage_id=sequence.lineage_id, version=newest.version + 1,
                     name=sequence.name, description=sequence.description,
                     record_type=sequence.record_type, status=SequenceStatus.DRAFT.value,
                     settings=dict(sequence.settings or {}),
                     created_by_id=sequence.created_by_id)
    db.session.add(draft)
    db.session.flush()
    editing.copy_steps(sequence.id, draft.id)
    audit.record("sequence.new_version", sequence.name, version=draft.version)
    db.session.commit()
    return draft


def deactivate(sequence: Sequence) -> int:
    """Active -> inactive; records running in any version of it are disconnected. Returns how
    many were disconnected."""
    editing.lock(sequence)
    if sequence.status != SequenceStatus.ACTIVE:
        raise ServiceError(_l("Only an active sequence can be deactivated."))
    now = utcnow()
    disconnected = sum(answers(sequence_deactivated, lineage_id=sequence.lineage_id))
    sequence.status = SequenceStatus.INACTIVE.value
    sequence.updated_at = now
    audit.record("sequence.deactivated", sequence.name, disconnected=disconnected)
    db.session.commit()
    return disconnected


def clone(sequence: Sequence, *, user_id: int | None = None) -> Sequence:
    copy = Sequence(name=_("Copy of %(name)s", name=sequence.name)[:120],
                    description=sequence.description,
                    record_type=sequence.record_type, status=SequenceStatus.DRAFT.value,
                    version=1, settings=dict(sequence.settings or {}), created_by_id=user_id)
    db.session.add(copy)
    db.session.flush()
    copy.lineage_id = copy.id
    editing.copy_steps(sequence.id, copy.id)
    audit.record("sequence.cloned", copy.name, source=sequence.name)
    db.session.commit()
    return copy


def delete_reason(sequence: Sequence) -> str | None:
    running = queries.running_count(sequence.lineage_id)
    if running:
        from saas.web.numbers import format_number

        return ngettext("%(count)s record is running in “%(name)s”. Deactivate the sequence "
                        "first (that disconnects it), then delete it.",
                        "%(count)s records are running in “%(name)s”. Deactivate the sequence "
                        "first (that disconnects them), then delete it.",
                        running, count=format_number(running), name=sequence.name)
    return None


def delete_sequence(sequence: Sequence) -> None:
    """Deletes every version of the sequence, with their connections' history (refused while
    records are running in it). The versions are locked first: a connect under way (it holds
    its version FOR KEY SHARE) finishes before, and is then counted as running."""
    ids = list(db.session.execute(select(Sequence.id).where(
        Sequence.lineage_id == sequence.lineage_id).with_for_update()).scalars())
    reason = delete_reason(sequence)
    if reason:
        raise ServiceError(reason)
    sequence_deleting.send(None, lineage_id=sequence.lineage_id, sequence_ids=ids)
    for sid in ids:
        editing.clear_steps(sid)
    db.session.execute(delete(Sequence).where(Sequence.id.in_(ids)))
    audit.record("sequence.deleted", sequence.name, versions=len(ids))
    db.session.commit()


def select_version(lineage_id: int, version: int) -> Sequence | None:
    return db.session.execute(select(Sequence).where(
        Sequence.lineage_id == lineage_id, Sequence.version == version)).scalar_one_or_none()
