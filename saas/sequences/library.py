"""Built-in sequence templates offered by "New sequence" (nested step trees, no tenant data:
template steps start without a message template, which the manager chooses)."""

from __future__ import annotations

from dataclasses import dataclass, field


def _s(kind: str, name: str, description: str = "", **config) -> dict:
    from saas.sequences.steps import default_config

    return {"type": kind, "name": name, "description": description,
            "config": {**default_config(kind), **config}}


def _wait(days: int = 0, hours: int = 0) -> dict:
    return _s("wait", "Wait", days=days, hours=hours)


def _if_opened(name: str, yes: list, no: list, days: int = 2) -> dict:
    node = _s("email_condition", name, events=["opened", "clicked", "replied"], match="any",
              limit_days=days, limit_hours=0, move_on_event=True)
    node["yes"], node["no"] = yes, no
    return node


@dataclass(frozen=True)
class BuiltIn:
    key: str
    name: str
    description: str
    steps: list = field(default_factory=list)


BUILT_INS = [
    BuiltIn("trade_show", "Trade show follow-up",
            "Follow up with people met at a trade show: an introduction, a call, a reminder.", [
                _s("email", "Introductory email", "Introduce the prospect to the sales team."),
                _wait(hours=1),
                _s("call", "Follow-up call"),
                _wait(days=2),
                _if_opened("Opened the introduction?",
                           [_s("task", "Book a meeting")],
                           [_s("email", "Second email"), _wait(days=2),
                            _s("call", "Last call")]),
            ]),
    BuiltIn("no_show", "No-show follow-up",
            "Re-engage people who registered for a meeting or webinar and did not attend.", [
                _s("email", "Sorry we missed you", "Offer the recording and a new time."),
                _wait(days=1),
                _s("call", "Reschedule call"),
                _wait(days=3),
                _s("email", "Last chance to reschedule"),
            ]),
    BuiltIn("event_invitation", "Event invitation",
            "Invite records to an event, remind them, and call those who have not answered.", [
                _s("email", "Invitation"),
                _wait(days=3),
                _if_opened("Opened the invitation?",
                           [_s("call", "Confirm attendance")],
                           [_s("email", "Reminder"), _wait(days=2),
                            _s("task", "Check registration")]),
            ]),
    BuiltIn("demo_request", "Demo request",
            "Answer a demo request quickly: call, confirm by email, prepare the demo.", [
                _s("call", "Call back within the hour"),
                _s("email", "Confirm the demo"),
                _s("task", "Prepare the demo", "Research the company and tailor the demo."),
                _wait(days=1),
                _s("call", "Demo follow-up call"),
            ]),
    BuiltIn("renewal", "Renewal",
            "Prepare a renewal ahead of the contract's end.", [
                _s("task", "Review the account", "Usage, open issues, expansion potential."),
                _s("email", "Renewal check-in"),
                _wait(days=7),
                _s("call", "Renewal call"),
                _wait(days=7),
                _s("email", "Renewal proposal"),
            ]),
    BuiltIn("high_volume", "High-volume outbound",
            "Automated emails to many prospects; sellers call those who engage.", [
                _s("auto_email", "First touch"),
                _wait(days=3),
                _if_opened("Engaged with the first touch?",
                           [_s("call", "Call the engaged prospect")],
                           [_s("auto_email", "Second touch"), _wait(days=4),
                            _s("auto_email", "Break-up email")], days=3),
            ]),
]
BY_KEY = {b.key: b for b in BUILT_INS}
