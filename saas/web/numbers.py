"""Numbers and percentages as the viewer's locale writes them ("1,234.5" / "1 234,5",
"12.3%" / "12,3 %"), through Babel: the `|number` and `|percent` template filters."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel import numbers as babel_numbers
from flask import Flask

from saas.web.dates import locale


def format_number(value: int | float | Decimal | None, digits: int | None = None,
                  locale_name: str | None = None) -> str:
    """A count or an amount: grouped, with at most `digits` decimals when given."""
    if value is None:
        return ""
    loc = locale_name or locale()
    if digits is None:
        return babel_numbers.format_decimal(value, locale=loc)
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=loc)


def format_percent(ratio: float | Decimal | None, digits: int = 1,
                   locale_name: str | None = None) -> str:
    """A ratio (0.123) as a percentage ("12.3%"), `digits` decimals always shown."""
    if ratio is None:
        return ""
    loc = locale_name or locale()
    # The locale's own pattern ("#,##0%", "#,##0\u00a0%"), with the decimals asked for.
    pattern = Locale.parse(loc).percent_formats[None].pattern
    if digits:
        pattern = pattern.replace("0", "0." + "0" * digits, 1) if "0." not in pattern \
            else pattern
    return babel_numbers.format_percent(ratio, format=pattern, locale=loc)


def register(app: Flask) -> None:
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["percent"] = format_percent
