"""The step types as the designer shows them: label, icon, tab, default settings, the tile's
one-line summary, and reading a step form back into `config` (the keys the engine reads).

Labels are lazy (`_l`): they speak the page's language when shown. Default step names are
stored with the step, in the language of the manager who added it (`_` at creation time)."""

from __future__ import annotations

from dataclasses import dataclass

from saas.i18n import _, _l, _pl, ngettext
from saas.sequences.rules import CALL_OUTCOMES, EMAIL_EVENTS
from saas.web.numbers import format_percent


@dataclass(frozen=True)
class Kind:
    type: str
    label_message: object  # lazy: `label` is the text in the current language
    icon: str
    tab: str  # steps | conditions | commands
    help_message: object

    @property
    def label(self) -> str:
        return str(self.label_message)

    @property
    def help(self) -> str:
        return str(self.help_message)


# The LinkedIn activities: their label (also a new step's name and the worklist's activity type),
# icon and help. The seller acts on LinkedIn; the sequence links to the record's page and tracks.
LINKEDIN_LABELS = {
    "linkedin_research": _l("LinkedIn – research the person"),
    "linkedin_introduction": _l("LinkedIn – get introduced"),
    "linkedin_connect": _l("LinkedIn – send a connection request"),
    "linkedin_inmail": _l("LinkedIn – send an InMail"),
}
LINKEDIN_ICONS = {"linkedin_research": "in⌕", "linkedin_introduction": "in⇄",
                  "linkedin_connect": "in+", "linkedin_inmail": "in✉"}
_LINKEDIN_HELP = {
    "linkedin_research": _l("The seller reads the person's LinkedIn profile before reaching out."),
    "linkedin_introduction": _l("The seller asks a shared connection for an introduction."),
    "linkedin_connect": _l("The seller sends the person a connection request on LinkedIn."),
    "linkedin_inmail": _l("The seller sends the person an InMail on LinkedIn."),
}

KINDS = [
    Kind("email", _l("Send an email"), "✉", "steps",
         _l("The seller sends an email from the composer.")),
    Kind("auto_email", _l("Automated email"), "✉⚡", "steps",
         _l("Sent by the system from its template when the step is reached.")),
    Kind("sms", _l("Send a text message"), "✆", "steps", _l("The seller sends a text message.")),
    Kind("auto_sms", _l("Automated text message"), "✆⚡", "steps",
         _l("Sent by the system from its SMS template.")),
    Kind("call", _l("Phone call"), "☎", "steps", _l("The seller calls and logs the outcome.")),
    Kind("task", _l("Task"), "☑", "steps", _l("A custom activity, e.g. book a meeting.")),
    *(Kind(kind, label, LINKEDIN_ICONS[kind], "steps", _LINKEDIN_HELP[kind])
      for kind, label in LINKEDIN_LABELS.items()),
    Kind("wait", _l("Set wait time"), "◷", "steps", _l("Wait between 1 hour and 30 days.")),
    Kind("ab_test", _l("A/B test"), "A/B", "steps",
         _l("Two email versions split across the audience.")),
    Kind("email_condition", _l("Email condition"), "◇", "conditions",
         _l("Yes / No on what happened to the previous email.")),
    Kind("call_condition", _l("Phone call outcome"), "◇", "conditions",
         _l("Yes / No on the outcome of the previous call.")),
    Kind("field_condition", _l("Record field value"), "◇", "conditions",
         _l("Yes / No on a field of the record.")),
    Kind("update_field", _l("Update a record field"), "✎", "commands",
         _l("Set a field of the record to a value.")),
    Kind("move_to_sequence", _l("Move to another sequence"), "↪", "commands",
         _l("Disconnect here and connect the record to another sequence (last step).")),
]
BY_TYPE = {k.type: k for k in KINDS}
TABS = [("steps", _l("Steps")), ("conditions", _l("Conditions")), ("commands", _l("Commands"))]
EVENT_LABELS = {"opened": _l("Opened"), "clicked": _l("Link clicked"), "replied": _l("Replied")}
OUTCOME_LABELS = {"connected": _l("Connected"), "left_voicemail": _l("Left voicemail"),
                  "no_answer": _l("No answer"), "wrong_number": _l("Wrong number")}
METRIC_LABELS = {"opens": _l("Opens"), "clicks": _l("Clicks"), "goal": _l("Goal reached")}
# In a tile's summary: "If opened or link clicked within 2 days", "winner by opens".
EVENT_WORDS = {"opened": _l("opened"), "clicked": _l("link clicked"), "replied": _l("replied")}
OUTCOME_WORDS = {"connected": _l("connected"), "left_voicemail": _l("left voicemail"),
                 "no_answer": _l("no answer"), "wrong_number": _l("wrong number")}
# The shares are percentages in the viewer's locale ("A 50% / B 50%", "A 50 % / B 50 %").
WINNER_BY = {"opens": _l("A %(a)s / B %(b)s · winner by opens"),
             "clicks": _l("A %(a)s / B %(b)s · winner by clicks"),
             "goal": _l("A %(a)s / B %(b)s · winner by goal reached")}
# A sequence version's status, as its badge shows it (the stored value is the enum's).
STATUS_LABELS = {"draft": _l("Draft"), "active": _pl("sequence status", "Active"),
                 "inactive": _pl("sequence status", "Inactive"),
                 "retired": _pl("sequence status", "Retired")}
# An A/B test's status and outcome on its tile.
AB_STATUS_LABELS = {"draft": _l("Draft"), "running": _l("Running"), "stopped": _l("Stopped"),
                    "completed": _l("Completed")}
AB_OUTCOME_LABELS = {"winner": _l("Winner"), "inconclusive": _l("Inconclusive"),
                     "stopped": _l("Stopped")}
DAY_NAMES = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]


def default_config(kind: str) -> dict:
    if kind in ("email", "auto_email", "sms", "auto_sms"):
        return {"template_id": None}
    if kind == "wait":
        return {"days": 1, "hours": 0}
    if kind == "ab_test":
        return {"display_name": _("A/B test"), "split_a": 50, "metric": "opens", "ends": "auto",
                "end_at": None, "default_version": "A",
                "versions": {"A": {"type": "email", "name": _("Version A"), "template_id": None},
                             "B": {"type": "email", "name": _("Version B"),
                                   "template_id": None}}}
    if kind == "email_condition":
        return {"events": ["opened"], "match": "any", "limit_days": 3, "limit_hours": 0,
                "move_on_event": True}
    if kind == "call_condition":
        return {"outcomes": ["connected"]}
    if kind == "field_condition":
        return {"rules": {"op": "and", "rules": []}}
    if kind == "update_field":
        return {"field": "status", "value": ""}
    if kind == "move_to_sequence":
        return {"sequence_id": None}
    return {}


def default_name(kind: str) -> str:
    """A new step's name, in the language of the page that adds it (then it is the tenant's)."""
    names = {"email": _l("Email"), "auto_email": _l("Automated email"),
             "sms": _l("Text message"), "auto_sms": _l("Automated text message"),
             "call": _l("Phone call"), "task": _l("Task"), "wait": _l("Wait"),
             "ab_test": _l("A/B test"), "email_condition": _l("Email condition"),
             "call_condition": _l("Call outcome"), "field_condition": _l("Field condition"),
             "update_field": _l("Update field"),
             "move_to_sequence": _l("Move to another sequence"), **LINKEDIN_LABELS}
    return str(names[kind]) if kind in names else kind


def duration_text(days, hours) -> str:
    """"2 days", "1 hour", "1 day 3 hours" in the page's language."""
    days, hours = int(days or 0), int(hours or 0)
    day_text = ngettext("%(num)d day", "%(num)d days", days)
    hour_text = ngettext("%(num)d hour", "%(num)d hours", hours)
    if days and hours:
        return _("%(days)s %(hours)s", days=day_text, hours=hour_text)
    return day_text if days else hour_text


def _any_of(words: list[str]) -> str:
    """"a or b or c" in the page's language."""
    text = words[0] if words else "…"
    for word in words[1:]:
        text = _("%(choices)s or %(choice)s", choices=text, choice=word)
    return text


def _all_of(words: list[str]) -> str:
    text = words[0] if words else "…"
    for word in words[1:]:
        text = _("%(choices)s and %(choice)s", choices=text, choice=word)
    return text


def summary(step, templates: dict, sequences: dict) -> str:
    """The tile's one line. templates: id -> (kind, name); sequences: lineage id -> name."""
    config, kind = step.config or {}, step.type

    def template_name(template_id) -> str:
        found = templates.get(template_id)
        return _("Template: %(name)s", name=found[1]) if found else _("No template")

    if kind in ("email", "sms"):
        return template_name(config.get("template_id")) if config.get("template_id") \
            else _("The seller writes it")
    if kind in ("auto_email", "auto_sms"):
        return template_name(config.get("template_id"))
    if kind == "wait":
        return _("Wait %(duration)s",
                 duration=duration_text(config.get("days"), config.get("hours")))
    if kind == "ab_test":
        split = int(config.get("split_a") or 50)
        line = WINNER_BY.get(config.get("metric"))
        shares = {"a": format_percent(split / 100, 0), "b": format_percent((100 - split) / 100, 0)}
        return str(line % shares) if line is not None else _("A %(a)s / B %(b)s", **shares)
    if kind == "email_condition":
        words = [str(EVENT_WORDS.get(e, e)) for e in config.get("events") or []]
        what = _any_of(words) if config.get("match") == "any" else _all_of(words)
        return _("If %(events)s within %(duration)s", events=what, duration=duration_text(
            config.get("limit_days"), config.get("limit_hours")))
    if kind == "call_condition":
        return _("If the call was %(outcomes)s", outcomes=_any_of(
            [str(OUTCOME_WORDS.get(o, o)) for o in config.get("outcomes") or []]))
    if kind == "field_condition":
        count = len((config.get("rules") or {}).get("rules") or [])
        return ngettext("%(num)d field condition", "%(num)d field conditions", count)
    if kind == "update_field":
        return _("Set %(field)s to “%(value)s”", field=config.get("field") or "…",
                 value=config.get("value") or "")
    if kind == "move_to_sequence":
        return _("Move to “%(name)s”", name=sequences.get(config.get("sequence_id"), "…"))
    return step.description.splitlines()[0][:80] if step.description else _("No description")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int_or_raw(value):
    number = _int_or_none(value)
    return number if number is not None else (value or "")


def config_from_form(kind: str, form, current: dict) -> dict:
    """The step form's fields as the step's `config` (bad numbers are kept for the rules to
    refuse with a message)."""
    if kind in ("email", "auto_email", "sms", "auto_sms"):
        return {"template_id": _int_or_none(form.get("template_id"))}
    if kind == "wait":
        return {"days": _int_or_raw(form.get("days")), "hours": _int_or_raw(form.get("hours"))}
    if kind == "ab_test":
        end_at = (form.get("end_at") or "").strip() or None
        if end_at and len(end_at) == 16:  # datetime-local: "YYYY-MM-DDTHH:MM", read as UTC
            end_at += ":00+00:00"
        return {"display_name": (form.get("display_name") or "").strip(),
                "split_a": _int_or_raw(form.get("split_a")),
                "metric": form.get("metric"), "ends": form.get("ends"),
                "end_at": end_at if form.get("ends") == "at" else None,
                "default_version": form.get("default_version"),
                "versions": {letter: {
                    "type": form.get(f"{letter.lower()}_type"),
                    "name": (form.get(f"{letter.lower()}_name") or "").strip(),
                    "template_id": _int_or_none(form.get(f"{letter.lower()}_template_id"))}
                    for letter in ("A", "B")}}
    if kind == "email_condition":
        return {"events": [e for e in form.getlist("events") if e in EMAIL_EVENTS],
                "match": form.get("match"),
                "limit_days": _int_or_raw(form.get("limit_days")),
                "limit_hours": _int_or_raw(form.get("limit_hours")),
                "move_on_event": form.get("move_on_event") == "y"}
    if kind == "call_condition":
        return {"outcomes": [o for o in form.getlist("outcomes") if o in CALL_OUTCOMES]}
    if kind == "field_condition":
        rows = [{"field": f, "operator": o, "value": v} for f, o, v in zip(
            form.getlist("fc_field"), form.getlist("fc_operator"), form.getlist("fc_value"),
            strict=False) if f]
        return {"rules": {"op": "and" if form.get("fc_op") != "or" else "or", "rules": rows}}
    if kind == "update_field":
        return {"field": (form.get("field") or "").strip(),
                "value": (form.get("value") or "").strip()}
    if kind == "move_to_sequence":
        return {"sequence_id": _int_or_none(form.get("sequence_id"))}
    return dict(current or {})
