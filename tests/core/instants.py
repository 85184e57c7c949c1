"""Parse the ``Created`` texts we write, on every supported Python."""

from __future__ import annotations

from datetime import datetime


def parse_instant(text: str) -> datetime:
    """Parse ``2026-12-03T14:31:05.07161+00:00`` or ``...Z`` on Python 3.10 too.

    Python 3.10's ``datetime.fromisoformat`` wants exactly 3 or 6 fraction digits and no ``Z``;
    our texts trim trailing zeros of the fraction as C# does, so pad them back here.
    """
    text = text.replace("Z", "+00:00")
    head, offset = text[:-6], text[-6:]
    if "." in head:
        whole, fraction = head.split(".")
        head = f"{whole}.{fraction.ljust(6, '0')}"
    return datetime.fromisoformat(head + offset)
