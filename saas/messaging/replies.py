"""Reading an inbound reply (SendGrid Inbound Parse): a real reply, an out-of-office or other
auto-reply, a bounce notice, or an unsubscribe request, with the reason it was read so and, for
an out-of-office, the return date it gives.

`classify` is pure (headers, subject, text, the day it arrived). It reads, in this order:
1. a bounce notice: a mailer-daemon or postmaster sender, a delivery-status report, or a
   subject such as "Delivery Status Notification", "Undeliverable", "Non remis";
2. an auto-reply by its headers: RFC 3834 `Auto-Submitted` other than `no`, `X-Autoreply`,
   `X-Autorespond`, `Precedence: auto_reply / bulk / junk`;
3. an auto-reply by its subject ("Automatic reply:", "Out of Office", "Réponse automatique",
   "Absence du bureau", ...; not when it is a "Re:" of one);
4. an unsubscribe request in the new text ("unsubscribe", "désabonner", "remove me", ...);
5. an auto-reply by its new text ("I am out of the office", "Je suis absente", ...);
6. else a real reply.
The new text is what is above the first quote marker ("On ... wrote:", "Le ... a écrit :",
"-----Original Message-----", an Outlook "From:/Sent:" block, lines starting with ">"): a person
who answers above a quoted out-of-office wrote a real reply.

Return dates (English and French): "back on 12 January", "returning January 12", "until 12/01"
(day first, as in both languages outside the US, unless the day can only be the second number),
"de retour le 12 janvier", "jusqu'au 12 janvier 2027". "Until" and "jusqu'au" name the last day
away: the return date is the day after. A date without a year is its next occurrence from the
day the reply arrived; a date in the past, or more than a year ahead, is not a return date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from email.parser import HeaderParser
from typing import NamedTuple

REPLY, AUTO_REPLY, BOUNCE, UNSUBSCRIBE = "reply", "auto_reply", "bounce", "unsubscribe"
KINDS = (REPLY, AUTO_REPLY, BOUNCE, UNSUBSCRIBE)
MAX_AHEAD = timedelta(days=366)


class Reading(NamedTuple):
    kind: str
    reason: str  # in the message's own words: a header and its value, or the phrase matched
    return_date: date | None = None


_BOUNCE_SENDER = re.compile(r"(^|[<\s\"])(mailer-daemon|postmaster)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"delivery status notification|undeliverable|undelivered mail|non remis|"
    r"mail delivery (failed|failure|subsystem)|returned mail|delivery (has )?failed|"
    r"échec de (la )?(remise|distribution)|message non distribué", re.I)
_OOO_SUBJECT = re.compile(
    r"^\s*(\[[^\]]*\]\s*)?(automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|"
    r"out of (the )?office|ooo\b|away from (the )?office|on vacation|on holiday|"
    r"r[ée]ponse automatique|absence du bureau|absent(e)?\b|message d'absence|"
    r"message d’absence|en cong[ée]s?\b|hors du bureau)", re.I)
_FORWARD_OR_REPLY = re.compile(r"^\s*(re|aw|sv|tr|fw|fwd|wg)\s*:", re.I)
_OOO_TEXT = re.compile(
    r"\b(out of (the )?office|away from (the |my )?(office|desk)|on (annual )?leave|"
    r"on vacation|on holiday|limited access to (my )?e-?mail|this is an automatic reply|"
    r"automatic reply|(i am|i'm|i’m) (currently )?away (until|from|and)|"
    r"je suis (actuellement )?absente?|absence du bureau|"
    r"r[ée]ponse automatique|en cong[ée]s?\b|hors du bureau|je serai absente?|"
    r"actuellement absente?)", re.I)
_UNSUBSCRIBE = re.compile(
    r"\b(unsubscribe|remove me|take me off|stop (e-?mailing|emails|sending|contacting)|"
    r"do not (e-?mail|contact) me|don't (e-?mail|contact) me|don’t (e-?mail|contact) me|"
    r"opt[- ]?out|d[ée]sabonne[rz]?|d[ée]sinscri(re|vez|s)|d[ée]sinscription|"
    r"d[ée]sabonnement|retirez[- ]moi|supprimez[- ]moi|ne plus (me )?(contacter|écrire|"
    r"recevoir)|arr[êe]tez de m'[ée]crire|arr[êe]tez de m’[ée]crire)", re.I)
_QUOTE_MARKERS = (
    re.compile(r"^[ \t]*On\b[^\n]{0,300}(\n[^\n]{0,300})?\bwrote:[ \t]*$", re.M | re.I),
    re.compile(r"^[ \t]*Le\b[^\n]{0,300}(\n[^\n]{0,300})?\ba [ée]crit[ \t]*:[ \t]*$",
               re.M | re.I),
    re.compile(r"^[ \t]*-{2,}[ \t]*(Original Message|Message d'origine|Message d’origine|"
               r"Forwarded message|Message transféré)[ \t]*-{2,}", re.M | re.I),
    re.compile(r"^[ \t]*(From|De)[ \t]*:[^\n]*\n[ \t]*(Sent|Date|Envoyé)[ \t]*:", re.M | re.I),
    re.compile(r"^[ \t]*_{10,}[ \t]*$", re.M),
    re.compile(r"^[ \t]*>", re.M),
)

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "mars": 3,
    "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8, "aout": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12, "déc": 12,
}
_MONTH = "(?P<month>" + "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True)) + r")\.?"
_WEEKDAY = (r"(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|"
            r"fri|sat|sun|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\.?,?\s+)?")
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er)?"
_YEAR = r"(?:,?\s+(?P<year>20\d\d))?"
_DATES = (
    _WEEKDAY + _DAY + r"\s+(?:of\s+)?" + _MONTH + _YEAR,            # 12 January (2027)
    _WEEKDAY + _MONTH + r"\s+" + _DAY + _YEAR,                       # January 12(, 2027)
    _WEEKDAY + r"(?P<first>[0-3]?\d)[/.](?P<second>[01]?\d)(?:[/.](?P<nyear>(?:20)?\d\d))?\b",
)
_BACK = (r"\b(?:back(?:\s+in\s+the\s+office)?(?:\s+on)?|return(?:ing)?(?:\s+to\s+the\s+office)?"
         r"(?:\s+on)?|returns(?:\s+on)?|de\s+retour(?:\s+au\s+bureau)?(?:\s+le)?|"
         r"retour(?:\s+pr[ée]vu)?(?:\s+le)?|je\s+serai\s+(?:de\s+retour\s+)?le|"
         r"reviendrai\s+le|à\s+partir\s+du|a\s+partir\s+du|dès\s+le|des\s+le)\s+(?:the\s+)?")
_UNTIL = (r"\b(?:until|till|through|thru|jusqu['’]au|jusqu['’]à\s+le|"
          r"jusqu['’]a(?:u)?)\s+(?:the\s+)?")
_RETURNS = [(re.compile(prefix + body, re.I), after)
            for prefix, after in ((_BACK, 0), (_UNTIL, 1)) for body in _DATES]


def parse_headers(raw: str) -> dict[str, list[str]]:
    """Inbound Parse's raw header block -> {lower-case name: [values]} (folded lines unfolded)."""
    message = HeaderParser().parsestr((raw or "").strip() + "\n\n", headersonly=True)
    found: dict[str, list[str]] = {}
    for name, value in message.items():
        found.setdefault(name.lower(), []).append(" ".join(str(value).split()))
    return found


def new_text(text: str) -> str:
    """What the sender wrote above the first quote marker (the whole text when none)."""
    text = (text or "").replace("\r\n", "\n")
    cut = min((m.start() for pattern in _QUOTE_MARKERS if (m := pattern.search(text))),
              default=len(text))
    return text[:cut].strip()


def _quote(match: re.Match) -> str:
    return "“" + " ".join(match.group(0).split())[:80] + "”"


def _header_reason(headers: dict[str, list[str]]) -> str | None:
    for value in headers.get("auto-submitted", []):
        if value.split(";")[0].strip().lower() != "no":
            return f"Auto-Submitted: {value[:60]}"
    for name, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        for value in headers.get(name, []):
            return f"{label}: {value[:60]}"
    for value in headers.get("precedence", []):
        if value.strip().lower() in ("auto_reply", "bulk", "junk"):
            return f"Precedence: {value[:60]}"
    return None


def _bounce_reason(headers: dict[str, list[str]], sender: str, subject: str) -> str | None:
    for value in [sender, *headers.get("from", [])]:
        if _BOUNCE_SENDER.search(value or ""):
            return f"From: {value[:80]}"
    for value in headers.get("content-type", []):
        if "report-type=delivery-status" in value.lower().replace('"', "").replace(" ", ""):
            return "Content-Type: multipart/report; report-type=delivery-status"
    match = _BOUNCE_SUBJECT.search(subject or "")
    if match and not _FORWARD_OR_REPLY.match(subject):
        return f"Subject: {_quote(match)}"
    return None


def return_date(text: str, received: date) -> date | None:
    """The first return date the text gives (see the module's docstring), or None."""
    best: tuple[int, date] | None = None
    for pattern, after in _RETURNS:
        for match in pattern.finditer(text or ""):
            day = _date_of(match, received)
            if day is None:
                continue
            day += timedelta(days=after)
            if received <= day <= received + MAX_AHEAD and (best is None
                                                             or match.start() < best[0]):
                best = (match.start(), day)
    return best[1] if best else None


def _date_of(match: re.Match, received: date) -> date | None:
    parts = match.groupdict()
    year = None
    if parts.get("first"):
        first, second = int(parts["first"]), int(parts["second"])
        day, month = (second, first) if second > 12 >= first else (first, second)
        if parts.get("nyear"):
            year = int(parts["nyear"]) % 100 + 2000
    else:
        day, month = int(parts["day"]), MONTHS[parts["month"].lower()]
        year = int(parts["year"]) if parts.get("year") else None
    for candidate in ([year] if year else [received.year, received.year + 1]):
        try:
            found = date(candidate, month, day)
        except ValueError:
            return None
        if year or found >= received:
            return found
    return None


def classify(headers: str, subject: str, text: str, received: date,
             sender: str = "") -> Reading:
    """Read one inbound message (see the module's docstring). `received`: the day it arrived,
    from which a return date without a year is reckoned."""
    parsed = parse_headers(headers)
    subject = " ".join((subject or (parsed.get("subject") or [""])[0]).split())
    reason = _bounce_reason(parsed, sender, subject)
    if reason:
        return Reading(BOUNCE, reason)
    fresh = new_text(text)
    reason = _header_reason(parsed)
    if reason is None and not _FORWARD_OR_REPLY.match(subject):
        match = _OOO_SUBJECT.search(subject)
        reason = f"Subject: {_quote(match)}" if match else None
    if reason is None:
        match = _UNSUBSCRIBE.search(fresh) or (
            None if _FORWARD_OR_REPLY.match(subject) else _UNSUBSCRIBE.search(subject))
        if match:
            return Reading(UNSUBSCRIBE, _quote(match))
        match = _OOO_TEXT.search(fresh)
        reason = _quote(match) if match else None
    if reason is None:
        return Reading(REPLY, "")
    return Reading(AUTO_REPLY, reason, return_date(subject + "\n" + fresh, received))


# -- the tenant's setting: days an out-of-office without a return date pauses -----------------

DEFAULT_OOO_RESUME_DAYS = 7
OOO_RESUME_DAYS_MAX = 60


def ooo_resume_days(tenant_settings: dict | None) -> int:
    """Days an out-of-office reply that gives no return date pauses its enrollment
    (`tenant.settings["messaging"]["ooo_resume_days"]`, 1 to 60, default 7)."""
    value = ((tenant_settings or {}).get("messaging") or {}).get("ooo_resume_days")
    if isinstance(value, int) and 1 <= value <= OOO_RESUME_DAYS_MAX:
        return value
    return DEFAULT_OOO_RESUME_DAYS


def parse_ooo_resume_days(raw: str | None) -> tuple[int | None, str | None]:
    """The settings form's value -> (days, None), (None, None) when blank (the default), or
    (None, what is wrong)."""
    from saas.i18n import _

    raw = (raw or "").strip()
    if not raw:
        return None, None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= OOO_RESUME_DAYS_MAX:
        return None, _("Enter a whole number of days from 1 to %(max)s.",
                       max=OOO_RESUME_DAYS_MAX)
    return int(raw), None
