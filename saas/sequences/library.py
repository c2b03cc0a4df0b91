"""Built-in sequence templates offered by "New sequence" (nested step trees, no tenant data:
template steps start without a message template, which the manager chooses).

Names and descriptions are lazy (`_l`), in English and French: the "New sequence" page shows
them in its language, and `in_language` writes them out as plain text in the language of the
page (or the workspace) that creates a sequence from one. From then on they are the tenant's
own text, never translated again."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from flask_babel.speaklater import LazyString

from saas.i18n import _l, speaking


def _s(kind: str, name, description="", **config) -> dict:
    from saas.sequences.steps import default_config

    return {"type": kind, "name": name, "description": description,
            "config": {**default_config(kind), **config}}


def _wait(days: int = 0, hours: int = 0) -> dict:
    return _s("wait", _l("Wait"), days=days, hours=hours)


def _if_opened(name, yes: list, no: list, days: int = 2) -> dict:
    node = _s("email_condition", name, events=["opened", "clicked", "replied"], match="any",
              limit_days=days, limit_hours=0, move_on_event=True)
    node["yes"], node["no"] = yes, no
    return node


def _plain(value):
    if isinstance(value, LazyString):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)


def in_language(steps: list, language: str | None = None) -> list:
    """A built-in template's step tree as plain text: in `language` when given, else in the
    language of the current page."""
    if language is None:
        return _plain(steps)
    with speaking(language):
        return _plain(steps)


@dataclass(frozen=True)
class BuiltIn:
    key: str
    name: str
    description: str
    steps: list = field(default_factory=list)


BUILT_INS = [
    BuiltIn("trade_show", _l("Trade show follow-up"),
            _l("Follow up with people met at a trade show: an introduction, a call, a "
               "reminder."), [
                _s("email", _l("Introductory email"),
                   _l("Introduce the prospect to the sales team.")),
                _wait(hours=1),
                _s("call", _l("Follow-up call")),
                _wait(days=2),
                _if_opened(_l("Opened the introduction?"),
                           [_s("task", _l("Book a meeting"))],
                           [_s("email", _l("Second email")), _wait(days=2),
                            _s("call", _l("Last call"))]),
            ]),
    BuiltIn("no_show", _l("No-show follow-up"),
            _l("Re-engage people who registered for a meeting or webinar and did not "
               "attend."), [
                _s("email", _l("Sorry we missed you"),
                   _l("Offer the recording and a new time.")),
                _wait(days=1),
                _s("call", _l("Reschedule call")),
                _wait(days=3),
                _s("email", _l("Last chance to reschedule")),
            ]),
    BuiltIn("event_invitation", _l("Event invitation"),
            _l("Invite records to an event, remind them, and call those who have not "
               "answered."), [
                _s("email", _l("Invitation")),
                _wait(days=3),
                _if_opened(_l("Opened the invitation?"),
                           [_s("call", _l("Confirm attendance"))],
                           [_s("email", _l("Reminder")), _wait(days=2),
                            _s("task", _l("Check registration"))]),
            ]),
    BuiltIn("demo_request", _l("Demo request"),
            _l("Answer a demo request quickly: call, confirm by email, prepare the demo."), [
                _s("call", _l("Call back within the hour")),
                _s("email", _l("Confirm the demo")),
                _s("task", _l("Prepare the demo"),
                   _l("Research the company and tailor the demo.")),
                _wait(days=1),
                _s("call", _l("Demo follow-up call")),
            ]),
    BuiltIn("renewal", _l("Renewal"),
            _l("Prepare a renewal ahead of the contract's end."), [
                _s("task", _l("Review the account"),
                   _l("Usage, open issues, expansion potential.")),
                _s("email", _l("Renewal check-in")),
                _wait(days=7),
                _s("call", _l("Renewal call")),
                _wait(days=7),
                _s("email", _l("Renewal proposal")),
            ]),
    BuiltIn("high_volume", _l("High-volume outbound"),
            _l("Automated emails to many prospects; sellers call those who engage."), [
                _s("auto_email", _l("First touch")),
                _wait(days=3),
                _if_opened(_l("Engaged with the first touch?"),
                           [_s("call", _l("Call the engaged prospect"))],
                           [_s("auto_email", _l("Second touch")), _wait(days=4),
                            _s("auto_email", _l("Break-up email"))], days=3),
            ]),
]
BY_KEY = {b.key: b for b in BUILT_INS}
