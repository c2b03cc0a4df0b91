"""Languages: which one a page speaks, and the gettext functions every floor uses.

The product speaks English and French (`LANGUAGES`); catalogs live in `saas/translations/`
(`make translations` extracts, updates and compiles them; README, "Languages"). A page speaks:
the signed-in user's choice (their profile, the user menu), else the best of the browser's
`Accept-Language`, else the workspace's default language (set at sign-up and in Settings), else
English. Pages for recipients (unsubscribe) and jobs pick theirs explicitly with `speaking()`.

Every user-facing string goes through `_` (now), `_l` (lazy: module-level constants, form
labels, messages raised from services before a request exists), `ngettext` / `_nl` (plurals),
or `N_` (stored in English, e.g. on a step run, and translated by the page that shows it);
`_pl(context, text)` where one English word means two things ("Close": a button, a stage).
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import g, has_request_context, request
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from flask_babel import lazy_pgettext as _pl
from flask_login import current_user

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "_", "_l", "_nl", "_pl", "N_", "ngettext",
           "language_of", "select_locale", "speaking", "is_language", "language_choices"]

def N_(message: str) -> str:  # noqa: N802 - gettext's name: extracted, translated when shown
    """A message stored in English (a failed send's reason) and translated where it is read."""
    return message


DEFAULT_LANGUAGE = "en"
# Each language's name in itself, as a switcher shows it (never translated).
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}


def is_language(code: str | None) -> bool:
    return code in LANGUAGES


def language_of(code: str | None, fallback: str | None = None) -> str:
    """A language we speak: `code` if we do ("fr", "fr-CA" and "FR" count as "fr"), else the
    fallback if we do, else English."""
    for candidate in (code, fallback):
        if candidate:
            base = str(candidate).strip().replace("_", "-").split("-")[0].lower()
            if base in LANGUAGES:
                return base
    return DEFAULT_LANGUAGE


def language_choices() -> list[tuple[str, str]]:
    """(code, name) pairs for a select, each name in its own language."""
    return list(LANGUAGES.items())


def _tenant_language() -> str | None:
    tenant = g.get("tenant") if g else None
    return getattr(tenant, "language", None) if tenant is not None else None


def select_locale() -> str:
    """Flask-Babel's locale selector (see the module's docstring for the order)."""
    if has_request_context():
        user_language = getattr(current_user, "language", None) \
            if getattr(current_user, "is_authenticated", False) else None
        if is_language(user_language):
            return user_language
        browser = request.accept_languages.best_match(list(LANGUAGES))
        if browser:
            return browser
    return language_of(_tenant_language())


@contextmanager
def speaking(code: str | None, fallback: str | None = None):
    """Run a block in a language (a recipient's page, an email footer, a job's messages)."""
    with force_locale(language_of(code, fallback)):
        yield
