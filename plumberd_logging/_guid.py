"""GUIDs as the library accepts them: a ``UUID``, or its text in any case (braces allowed).

One parser for every place that takes an id; each caller words its own error.
"""

from __future__ import annotations

from uuid import UUID

__all__ = ["parse_guid"]


def parse_guid(value: object) -> UUID | None:
    """``value`` as a ``UUID`` when it is one or a GUID string, else ``None``."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return None
    return None
