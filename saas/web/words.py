"""Counts in messages people read."""

from __future__ import annotations


def records(count: int) -> str:
    """'one record' or '1,234 records' (capitalize() it at the start of a sentence)."""
    return "one record" if count == 1 else f"{count:,} records"
