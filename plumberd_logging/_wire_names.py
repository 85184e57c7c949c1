"""The C# property names the codec writes for a class's attributes (one rule, shared).

    >>> from plumberd_logging import Event, field
    >>> class Seen(Event):
    ...     user_id: str = field(wire_name="UserID")
    ...     seen_at: str
    >>> property_names(Seen, ["user_id", "seen_at"])
    {'user_id': 'UserID', 'seen_at': 'SeenAt'}

Tools that describe the wire (the C# generator and contract check) use this instead of
re-deriving the codec's naming: explicit wire names (``field(wire_name=...)``, pydantic aliases,
``__wire_names__``) first, else the PascalCase default.
"""

from __future__ import annotations

from collections.abc import Iterable

from plumberd_logging._values import _plan_for, wire_name

__all__ = ["omitted_if_none", "property_names"]


def property_names(cls: type, attrs: Iterable[str]) -> dict[str, str]:
    """Attribute -> the JSON key the codec writes for it on objects of ``cls``."""
    plan = _plan_for(cls)
    return {attr: plan.wire.get(attr) or wire_name(attr) for attr in attrs}


def omitted_if_none(cls: type) -> frozenset[str]:
    """The attributes of ``cls`` the codec leaves out of the body when they are ``None``."""
    return _plan_for(cls).omit_if_none
