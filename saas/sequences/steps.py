"""The step types as the designer shows them: label, icon, tab, default settings, the tile's
one-line summary, and reading a step form back into `config` (the keys the engine reads)."""

from __future__ import annotations

from dataclasses import dataclass

from saas.sequences.rules import CALL_OUTCOMES, EMAIL_EVENTS


@dataclass(frozen=True)
class Kind:
    type: str
    label: str
    icon: str
    tab: str  # steps | conditions | commands
    help: str


KINDS = [
    Kind("email", "Send an email", "✉", "steps", "The seller sends an email from the composer."),
    Kind("auto_email", "Automated email", "✉⚡", "steps",
         "Sent by the system from its template when the step is reached."),
    Kind("sms", "Send a text message", "✆", "steps", "The seller sends a text message."),
    Kind("auto_sms", "Automated text message", "✆⚡", "steps",
         "Sent by the system from its SMS template."),
    Kind("call", "Phone call", "☎", "steps", "The seller calls and logs the outcome."),
    Kind("task", "Task", "☑", "steps", "A custom activity, e.g. book a meeting."),
    Kind("wait", "Set wait time", "◷", "steps", "Wait between 1 hour and 30 days."),
    Kind("ab_test", "A/B test", "A/B", "steps", "Two email versions split across the audience."),
    Kind("email_condition", "Email condition", "◇", "conditions",
         "Yes / No on what happened to the previous email."),
    Kind("call_condition", "Phone call outcome", "◇", "conditions",
         "Yes / No on the outcome of the previous call."),
    Kind("field_condition", "Record field value", "◇", "conditions",
         "Yes / No on a field of the record."),
    Kind("update_field", "Update a record field", "✎", "commands",
         "Set a field of the record to a value."),
    Kind("move_to_sequence", "Move to another sequence", "↪", "commands",
         "Disconnect here and connect the record to another sequence (last step)."),
]
BY_TYPE = {k.type: k for k in KINDS}
TABS = [("steps", "Steps"), ("conditions", "Conditions"), ("commands", "Commands")]
EVENT_LABELS = {"opened": "Opened", "clicked": "Link clicked", "replied": "Replied"}
OUTCOME_LABELS = {"connected": "Connected", "left_voicemail": "Left voicemail",
                  "no_answer": "No answer", "wrong_number": "Wrong number"}
METRIC_LABELS = {"opens": "Opens", "clicks": "Clicks", "goal": "Goal reached"}
DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def default_config(kind: str) -> dict:
    if kind in ("email", "auto_email", "sms", "auto_sms"):
        return {"template_id": None}
    if kind == "wait":
        return {"days": 1, "hours": 0}
    if kind == "ab_test":
        return {"display_name": "A/B test", "split_a": 50, "metric": "opens", "ends": "auto",
                "end_at": None, "default_version": "A",
                "versions": {"A": {"type": "email", "name": "Version A", "template_id": None},
                             "B": {"type": "email", "name": "Version B", "template_id": None}}}
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
    return {"email": "Email", "auto_email": "Automated email", "sms": "Text message",
            "auto_sms": "Automated text message", "call": "Phone call", "task": "Task",
            "wait": "Wait", "ab_test": "A/B test", "email_condition": "Email condition",
            "call_condition": "Call outcome", "field_condition": "Field condition",
            "update_field": "Update field", "move_to_sequence": "Move to another sequence",
            }.get(kind, kind)


def duration_text(days, hours) -> str:
    parts = []
    days, hours = int(days or 0), int(hours or 0)
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours or not days:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    return " ".join(parts)


def summary(step, templates: dict, sequences: dict) -> str:
    """The tile's one line. templates: id -> (kind, name); sequences: lineage id -> name."""
    config, kind = step.config or {}, step.type

    def template_name(template_id) -> str:
        found = templates.get(template_id)
        return f"Template: {found[1]}" if found else "No template"

    if kind in ("email", "sms"):
        return template_name(config.get("template_id")) if config.get("template_id") \
            else "The seller writes it"
    if kind in ("auto_email", "auto_sms"):
        return template_name(config.get("template_id"))
    if kind == "wait":
        return "Wait " + duration_text(config.get("days"), config.get("hours"))
    if kind == "ab_test":
        split = int(config.get("split_a") or 50)
        metric = METRIC_LABELS.get(config.get("metric"), "?").lower()
        return f"A {split}% / B {100 - split}% · winner by {metric}"
    if kind == "email_condition":
        events = " or " if config.get("match") == "any" else " and "
        what = events.join(EVENT_LABELS.get(e, e).lower() for e in config.get("events") or [])
        return f"If {what or '…'} within " + duration_text(config.get("limit_days"),
                                                            config.get("limit_hours"))
    if kind == "call_condition":
        return "If the call was " + " or ".join(
            OUTCOME_LABELS.get(o, o).lower() for o in config.get("outcomes") or [])
    if kind == "field_condition":
        count = len((config.get("rules") or {}).get("rules") or [])
        return f"{count} field condition{'s' if count != 1 else ''}"
    if kind == "update_field":
        return f"Set {config.get('field') or '…'} to “{config.get('value') or ''}”"
    if kind == "move_to_sequence":
        return "Move to “" + sequences.get(config.get("sequence_id"), "…") + "”"
    return step.description.splitlines()[0][:80] if step.description else "No description"


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
