"""The designer's rules, as pure functions over a list of steps (plain dicts), so the step form,
activation, export and import all check a sequence the same way.

A step is a dict with "id", "parent_id", "branch", "position", "type", "name" and "config"
(ids may be any hashable: imports use temporary ones). `Context` carries what the rules need to
know about the tenant: its templates, the sequences a record may be moved to, the record fields.

Messages are whole sentences in the page's language (`_` when a check runs); the constants below
are their English msgids (marked with `N_` for extraction), which the checks translate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from saas.i18n import _
from saas.sequences.models import LINKEDIN_TYPES
from saas.web.numbers import format_percent


def N_(message: str) -> str:
    """Marks a msgid for extraction; translated where it is used."""
    return message


MIN_WAIT_HOURS = 1
MAX_WAIT_HOURS = 30 * 24
EMAIL_EVENTS = ("opened", "clicked", "replied")
CALL_OUTCOMES = ("connected", "left_voicemail", "no_answer", "wrong_number")
AB_METRICS = ("opens", "clicks", "goal")
EMAIL_TYPES = ("email", "auto_email", "ab_test")  # what an email condition can follow
CONDITIONS = ("email_condition", "call_condition", "field_condition")
# Manual LinkedIn activities: a name and a description, like a task.
LINKEDIN_STEPS = tuple(t.value for t in LINKEDIN_TYPES)

WAIT_RANGE = N_("A wait lasts between 1 hour and 30 days.")
LIMIT_RANGE = N_("The time limit is between 1 hour and 30 days.")
# Its bounds are percentages as the viewer's locale writes them ("10%", "10 %": split_bounds).
SPLIT_RANGE_MSGID = N_("Each version gets between %(low)s and %(high)s of the audience.")
SPLIT_RANGE = SPLIT_RANGE_MSGID % {"low": "10%", "high": "90%"}  # as English pages say it


def split_bounds() -> dict[str, str]:
    return {"low": format_percent(0.1, 0), "high": format_percent(0.9, 0)}
BRANCH_ENDS_WITH_WAIT = N_("A branch cannot end with a wait: add a step after it or remove it.")
NEEDS_STEPS = N_("Add at least one step.")
EMAIL_CONDITION_ORDER = N_("An email condition must follow an email step (email, automated "
                            "email or A/B test) on its path.")
CALL_CONDITION_ORDER = N_("A phone call condition must follow a phone call step on its path.")
MOVE_FIRST = N_("“Move to another sequence” cannot be the first step.")
MOVE_LAST = N_("“Move to another sequence” must be the last step of its branch.")
MOVE_ITSELF = N_("A sequence cannot move records into itself: choose another sequence.")
AFTER_CONDITION = N_("Nothing can follow a condition in its branch: put the steps in its Yes "
                     "or No branch.")


@dataclass
class Context:
    """templates: id -> (kind, name); sequences: lineage id -> name (targets of a move);
    lineage_id: the sequence's own lineage; check_field_rules: segment-rule validator
    (returns errors by path); fields: record field keys an update may set;
    check_field_value: (field key, value) -> why the value does not fit, or None."""

    templates: dict = field(default_factory=dict)
    sequences: dict = field(default_factory=dict)
    lineage_id: int | None = None
    check_field_rules: Callable[[dict], dict] | None = None
    fields: dict | None = None
    check_field_value: Callable[[str, str], str | None] | None = None


@dataclass(frozen=True)
class Problem:
    step_id: object  # None: the sequence as a whole
    field: str       # the form field it belongs to ("" for the step as a whole)
    message: str


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _duration(days, hours, message: str, prefix: str) -> list[tuple[str, str]]:
    d, h = _int(days), _int(hours)
    if d is None or h is None or d < 0 or h < 0:
        return [(prefix, _("Enter whole numbers of days and hours."))]
    if not MIN_WAIT_HOURS <= d * 24 + h <= MAX_WAIT_HOURS:
        return [(prefix, _(message))]
    return []


def _template(template_id, kind: str, ctx: Context, required: bool, missing: str,
              key: str = "template_id") -> list[tuple[str, str]]:
    """`missing`: the (translated) sentence when a required template is not chosen."""
    if template_id in (None, ""):
        return [(key, missing)] if required else []
    found = ctx.templates.get(_int(template_id))
    if found is None:
        return [(key, _("This template no longer exists: choose another one."))]
    if found[0] != kind:
        if kind == "email":
            return [(key, _("“%(name)s” is not an email template: choose an email template.",
                            name=found[1]))]
        return [(key, _("“%(name)s” is not an SMS template: choose an SMS template.",
                        name=found[1]))]
    return []


def check_step(step: dict, ctx: Context) -> list[tuple[str, str]]:
    """Problems with one step's own settings, as (form field, message)."""
    kind, config = step.get("type"), step.get("config") or {}
    problems: list[tuple[str, str]] = []
    if not (step.get("name") or "").strip():
        problems.append(("name", _("Give the step a name.")))
    elif len(step["name"]) > 120:
        problems.append(("name", _("Use at most 120 characters.")))
    if kind in ("email", "auto_email"):
        problems += _template(config.get("template_id"), "email", ctx, kind == "auto_email",
                              _("An automated email needs a template: choose one."))
    elif kind in ("sms", "auto_sms"):
        problems += _template(config.get("template_id"), "sms", ctx, kind == "auto_sms",
                              _("An automated text message needs a template: choose one."))
    elif kind == "wait":
        problems += _duration(config.get("days"), config.get("hours"), WAIT_RANGE, "days")
    elif kind == "ab_test":
        problems += _check_ab(config, ctx)
    elif kind == "email_condition":
        events = config.get("events") or []
        if not events or any(e not in EMAIL_EVENTS for e in events):
            problems.append(("events", _("Choose what to look for: opened, clicked or replied.")))
        if config.get("match") not in ("any", "all"):
            problems.append(("match", _("Choose whether any or all of them must happen.")))
        problems += _duration(config.get("limit_days"), config.get("limit_hours"), LIMIT_RANGE,
                              "limit_days")
    elif kind == "call_condition":
        outcomes = config.get("outcomes") or []
        if not outcomes or any(o not in CALL_OUTCOMES for o in outcomes):
            problems.append(("outcomes",
                             _("Choose the call outcomes that take the Yes branch.")))
    elif kind == "field_condition":
        rules = config.get("rules") or {}
        if not rules.get("rules"):
            problems.append(("rules", _("Add a field condition.")))
        elif ctx.check_field_rules is not None:
            problems += [("rules", message) for message in ctx.check_field_rules(rules).values()]
    elif kind == "update_field":
        name = config.get("field") or ""
        if not name:
            problems.append(("field", _("Choose the field to update.")))
        elif ctx.fields is not None and name not in ctx.fields:
            problems.append(("field", _("“%(name)s” is not a field a sequence can set on "
                                        "these records.", name=name)))
        elif ctx.check_field_value is not None:
            problem = ctx.check_field_value(name, str(config.get("value") or ""))
            if problem:
                problems.append(("value", problem))
    elif kind == "move_to_sequence":
        target = _int(config.get("sequence_id"))
        if target is None:
            problems.append(("sequence_id", _("Choose the sequence to move records to.")))
        elif ctx.lineage_id is not None and target == ctx.lineage_id:
            problems.append(("sequence_id", _(MOVE_ITSELF)))
        elif target not in ctx.sequences:
            problems.append(("sequence_id",
                             _("This sequence no longer exists: choose another.")))
    elif kind not in ("call", "task", *LINKEDIN_STEPS):
        problems.append(("type", _("Unknown step type “%(kind)s”.", kind=kind)))
    return problems


def _check_ab(config: dict, ctx: Context) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not (config.get("display_name") or "").strip():
        problems.append(("display_name", _("Give the A/B test a display name.")))
    split = _int(config.get("split_a"))
    if split is None or not 10 <= split <= 90:
        problems.append(("split_a", _(SPLIT_RANGE_MSGID, **split_bounds())))
    if config.get("metric") not in AB_METRICS:
        problems.append(("metric",
                         _("Choose the winning metric: opens, clicks or goal reached.")))
    if config.get("ends") == "at":
        try:
            datetime.fromisoformat(str(config.get("end_at") or ""))
        except ValueError:
            problems.append(("end_at", _("Enter the date and time the test ends.")))
    elif config.get("ends") != "auto":
        problems.append(("ends", _("Choose how the test ends.")))
    if config.get("default_version") not in ("A", "B"):
        problems.append(("default_version", _("Choose the default version, A or B.")))
    versions = config.get("versions") or {}
    for letter in ("A", "B"):
        version = versions.get(letter) or {}
        key = f"{letter.lower()}_"
        if version.get("type") not in ("email", "auto_email"):
            problems.append((key + "type", _("Version %(letter)s must be an email or an "
                                             "automated email.", letter=letter)))
            continue
        if not (version.get("name") or "").strip():
            problems.append((key + "name", _("Give version %(letter)s a name.", letter=letter)))
        problems += _template(version.get("template_id"), "email", ctx,
                              version["type"] == "auto_email",
                              _("Version %(letter)s (an automated email) needs a template: "
                                "choose one.", letter=letter), key + "template_id")
    return problems


def branches(steps: list[dict]) -> dict[tuple, list[dict]]:
    """(parent_id, branch) -> its steps in order."""
    out: dict[tuple, list[dict]] = {}
    for step in steps:
        out.setdefault((step.get("parent_id"), step.get("branch") or "main"), []).append(step)
    for items in out.values():
        items.sort(key=lambda s: s.get("position") or 0)
    return out


def path_before(step: dict, steps: list[dict]) -> list[dict]:
    """The steps a record has been through before reaching `step`, from the start."""
    by_id = {s["id"]: s for s in steps}
    groups = branches(steps)
    chain = []
    current = step
    while current is not None:
        chain.append(current)
        current = by_id.get(current.get("parent_id"))
    chain.reverse()  # the main-branch ancestor ... the step itself
    ordered: list[dict] = []
    for node in chain:
        siblings = groups.get((node.get("parent_id"), node.get("branch") or "main"), [])
        ordered += [s for s in siblings if (s.get("position") or 0) < (node.get("position") or 0)]
        if node is not step:
            ordered.append(node)
    return ordered


def check_sequence(steps: list[dict], ctx: Context) -> list[Problem]:
    """Every problem that stands between the sequence and activation, in tree order."""
    if not steps:
        return [Problem(None, "", _(NEEDS_STEPS))]
    problems: list[Problem] = []
    groups = branches(steps)
    for step in _tree_order(groups):
        sid = step["id"]
        problems += [Problem(sid, f, m) for f, m in check_step(step, ctx)]
        siblings = groups[(step.get("parent_id"), step.get("branch") or "main")]
        is_last = siblings[-1] is step
        kind = step.get("type")
        if kind == "wait" and is_last:
            problems.append(Problem(sid, "", _(BRANCH_ENDS_WITH_WAIT)))
        if kind in CONDITIONS and not is_last:
            problems.append(Problem(sid, "", _(AFTER_CONDITION)))
        if kind == "email_condition":
            if not any(s.get("type") in EMAIL_TYPES for s in path_before(step, steps)):
                problems.append(Problem(sid, "", _(EMAIL_CONDITION_ORDER)))
        elif kind == "call_condition":
            if not any(s.get("type") == "call" for s in path_before(step, steps)):
                problems.append(Problem(sid, "", _(CALL_CONDITION_ORDER)))
        elif kind == "move_to_sequence":
            if not path_before(step, steps):
                problems.append(Problem(sid, "", _(MOVE_FIRST)))
            if not is_last:
                problems.append(Problem(sid, "", _(MOVE_LAST)))
    return problems


def _tree_order(groups: dict, parent=None, branch: str = "main") -> list[dict]:
    out: list[dict] = []
    for step in groups.get((parent, branch), []):
        out.append(step)
        if step.get("type") in CONDITIONS:
            out += _tree_order(groups, step["id"], "yes") + _tree_order(groups, step["id"], "no")
    return out


def step_problems(step_id, steps: list[dict], ctx: Context) -> list[tuple[str, str]]:
    """What the step form shows: the step's own problems and its place in the tree."""
    return [(p.field, p.message) for p in check_sequence(steps, ctx) if p.step_id == step_id]
