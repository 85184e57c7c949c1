"""Option validation shared by every public constructor: one rule per kind of value.

Each check takes the value and the name the user wrote (``"EventWriter(linger=...)"``, ``"linger"``,
``"PLUMBERD_LINGER"``) and returns the value normalised, or raises ``ValueError``/``TypeError``
naming that parameter and what was expected::

    linger = non_negative_seconds(linger, "linger")
    capture = as_bool(capture_logs, "capture_logs")     # True, "true", "1", "on" ... or an error

Text from the environment or a connection string goes through the same checks, so
``PLUMBERD_LINGER=abc`` and ``linger="abc"`` get the same answer.
"""

from __future__ import annotations

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "as_bool",
    "non_negative_seconds",
    "positive_int",
    "positive_seconds",
]

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def as_bool(value: object, name: str) -> bool:
    """A bool, or its spelling as text (dictConfig, fileConfig and the environment send text)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"{name}: expected true or false, got {value!r}")


def positive_int(value: object, name: str) -> int:
    """A whole number > 0 (an int, or its digits as text)."""
    number = _number(value, name, "a positive integer", integer=True)
    if number <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(number)


def non_negative_seconds(value: object, name: str) -> float:
    """A number of seconds >= 0 (int, float, or its text)."""
    number = _number(value, name, "a number of seconds >= 0", integer=False)
    if not number >= 0:  # also refuses NaN
        raise ValueError(f"{name}: expected a number of seconds >= 0, got {value!r}")
    return float(number)


def positive_seconds(value: object, name: str) -> float:
    """A number of seconds > 0 (int, float, or its text)."""
    number = _number(value, name, "a positive number of seconds", integer=False)
    if not number > 0:
        raise ValueError(f"{name}: expected a positive number of seconds, got {value!r}")
    return float(number)


def _number(value: object, name: str, expected: str, *, integer: bool) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text) if integer else float(text)
        except ValueError:
            raise ValueError(f"{name}: expected {expected}, got {value!r}") from None
    if isinstance(value, int) or (not integer and isinstance(value, float)):
        return value
    raise ValueError(f"{name}: expected {expected}, got {value!r}")
