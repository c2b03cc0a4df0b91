"""What the engine stores for people to read later, and how it is shown in the viewer's language.

Step runs keep why a send failed, was skipped or is uncertain (`StepRun.error`); enrollments keep
why they ended (`Enrollment.exit_reason`, a code). What is stored is language-neutral: a code, or
an English sentence built from one of the msgids below (`%`-formatted with its values). The
pages translate it when they show it: `reason_text()` for a stored sentence, `exit_reason_label()`
and `status_label()` for codes. Text the engine does not know (a provider's own error) is shown
as stored.
"""

from __future__ import annotations

import re

from saas.i18n import _, _l, _pl, ngettext


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "extract, do not translate yet"
    return message


# --- sentences stored on step runs (English msgids; translated when shown) --------------------
CONNECTION_ENDED = N_("The connection ended before the message was sent.")
RATE_LIMITED = N_("Waiting for the provider's rate limit to reset.")
PROVIDER_REFUSED = N_("The provider refused the message.")
SUPPRESSED = N_("%(address)s is on the suppression list (%(reason)s): not sent.")
UNCERTAIN_SEND = N_("Uncertain send (attempt %(attempt)s): %(error)s.")
NOT_ACCEPTED = N_("Attempt %(attempt)s not accepted (%(reason)s); retrying.")
GAVE_UP = N_("Gave up after %(attempts)s attempts; last: %(reason)s")
RECONCILED = N_("Reconciled: the provider reported the message after an uncertain send.")
SETTLED_AFTER_STOP = N_("Settled after the worker stopped: the provider has the message.")
WORKER_STOPPED = N_("The worker stopped during the send: the provider may have the message.")
RESENDING = N_("No provider event within the window: sending again.")
RESENT_BY_MANAGER = N_("Sent again at a manager's request.")
MARKED_SENT = N_("Marked as sent by a manager.")
MOVE_INTO_ITSELF = N_("A sequence cannot move a record into itself.")
# An email sent again after a soft bounce (saas/engine/resends.py, MessageResend.error).
RESEND_PAUSED = N_("Waiting: the connection is paused.")
RESEND_SENDER_PAUSED = N_("Waiting: its sender is paused.")
RESEND_GAP = N_("Waiting for its sender's minimum gap.")
RESEND_ENDED = N_("Not sent again: the connection ended.")
RESEND_STOPPED = N_("The worker stopped during the resend: the provider may have it.")
RESEND_SUPPRESSED = N_("Not sent again: %(address)s is on the suppression list.")
RESEND_UNCERTAIN = N_("Uncertain resend, not tried again: %(error)s.")
RESEND_RETRY = N_("Not accepted (%(reason)s); trying again.")

CONSTANTS = (CONNECTION_ENDED, RATE_LIMITED, PROVIDER_REFUSED, RECONCILED, SETTLED_AFTER_STOP,
             WORKER_STOPPED, RESENDING, RESENT_BY_MANAGER, MARKED_SENT, MOVE_INTO_ITSELF,
             RESEND_PAUSED, RESEND_SENDER_PAUSED, RESEND_GAP, RESEND_ENDED, RESEND_STOPPED)
# Sentences with values, most specific first. GAVE_UP is shown with ngettext (below). The last
# two are the composer's (saas/messaging/compose.py, extracted there), stored on a failed send.
PATTERNS = (SUPPRESSED, UNCERTAIN_SEND, NOT_ACCEPTED, RESEND_SUPPRESSED, RESEND_UNCERTAIN,
            RESEND_RETRY, "“%(name)s” is not an SMS template.",
            "“%(name)s” is not an email template.")


def stored(msgid: str, **values) -> str:
    """The language-neutral text to store: the English msgid with its values."""
    return msgid % values if values else msgid


def _regex(msgid: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", msgid)
    out = []
    for i, part in enumerate(parts):
        out.append(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)")
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


_COMPILED = [(msgid, _regex(msgid)) for msgid in PATTERNS]
_GAVE_UP = _regex(GAVE_UP)

def reason_text(text: str | None) -> str:
    """A stored step run reason in the viewer's language ("" for none)."""
    if not text:
        return ""
    text = str(text)
    if text in CONSTANTS:
        return _(text)
    # A reason the resend appended to (uncertain.py): each sentence on its own.
    suffix = " " + RESENDING
    if text.endswith(suffix) and len(text) > len(suffix):
        return reason_text(text[:-len(suffix)]) + " " + _(RESENDING)
    match = _GAVE_UP.match(text)
    if match and match["attempts"].isdigit():
        attempts = int(match["attempts"])
        return ngettext("Gave up after %(num)d attempt; last: %(reason)s",
                        "Gave up after %(num)d attempts; last: %(reason)s", attempts,
                        reason=reason_text(match["reason"]))
    for msgid, pattern in _COMPILED:
        match = pattern.match(text)
        if match:
            values = match.groupdict()
            if msgid == SUPPRESSED:
                code = values["reason"]
                values["reason"] = exit_reason_label(code)
            elif "reason" in values:
                values["reason"] = reason_text(values["reason"])
            return _(msgid, **values)
    return _(text)  # a msgid of another area (a field's refusal), else the text as stored


# --- codes ------------------------------------------------------------------------------------
# Why an enrollment ended (Enrollment.exit_reason), as the Connected records tab and the record
# page show it. English keeps the code's own words ("record deleted").
EXIT_REASONS = {
    "replied": _l("replied"), "unsubscribed": _l("unsubscribed"), "bounced": _l("bounced"),
    "disconnected": _l("disconnected"), "moved": _l("moved"),
    "disqualified": _l("disqualified"), "record_deleted": _l("record deleted"),
    "reply": _l("reply"), "bounce": _l("bounce"), "unsubscribe": _l("unsubscribe"),
    "manual": _l("manual"), "stop": _l("stop"), "spamreport": _l("spamreport"),
    "dropped": _l("dropped"),
    # The sequence's "stop the whole account" (saas/engine/accounts.py).
    "account_replied": _l("another person at the company replied"),
    "account_unsubscribed": _l("another person at the company unsubscribed"),
}

# Enrollment statuses, as badges show them.
STATUSES = {
    "active": _l("Active"), "paused": _l("Paused"), "completed": _l("Completed"),
    "exited": _l("Exited"), "disconnected": _l("Disconnected"),
}


def exit_reason_label(code: str | None) -> str:
    if not code:
        return ""
    label = EXIT_REASONS.get(code)
    return str(label) if label is not None else code.replace("_", " ")


def status_label(status: str | None) -> str:
    if not status:
        return ""
    label = STATUSES.get(status)
    return str(label) if label is not None else status.capitalize()


# Sequence statuses (saas.sequences.models.SequenceStatus), as the Connected records tab and
# analytics show them.
SEQUENCE_STATUSES = {  # the same words as the sequence's badge (saas/sequences/steps.py)
    "draft": _l("Draft"), "active": _pl("sequence status", "Active"),
    "inactive": _pl("sequence status", "Inactive"), "retired": _pl("sequence status", "Retired"),
}


def sequence_status_label(status: str | None) -> str:
    if not status:
        return ""
    label = SEQUENCE_STATUSES.get(status)
    return str(label) if label is not None else status.capitalize()


# A/B test statuses and outcomes (saas.engine.models.AbTest), as analytics shows them.
AB_STATUSES = {
    "draft": _l("Draft"), "running": _l("Running"), "stopped": _l("Stopped"),
    "completed": _l("Completed"),
}
AB_OUTCOMES = {
    "winner": _l("Clear winner"), "inconclusive": _l("Inconclusive"),
    "stopped": _l("Stopped by a person"),
}


def ab_status_label(status: str | None) -> str:
    if not status:
        return ""
    label = AB_STATUSES.get(status)
    return str(label) if label is not None else status.capitalize()


def ab_outcome_label(outcome: str | None) -> str:
    if not outcome:
        return ""
    label = AB_OUTCOMES.get(outcome)
    return str(label) if label is not None else outcome
