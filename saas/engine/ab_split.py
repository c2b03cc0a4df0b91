"""Which version of an A/B test a record gets: deterministic (the same record always gets the
same version) and close to the configured split over many records."""

from __future__ import annotations

import hashlib


def bucket(step_id: int, record_id: int) -> int:
    """A stable number in 0..9999 for this record at this step (SHA-256, not Python's hash)."""
    digest = hashlib.sha256(f"{step_id}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


def choose_version(step_id: int, record_id: int, split_a: int, winner: str | None = None) -> str:
    """'A' or 'B': the decided version when there is one, else by `split_a` percent for A."""
    if winner in ("A", "B"):
        return winner
    return "A" if bucket(step_id, record_id) < split_a * 100 else "B"
