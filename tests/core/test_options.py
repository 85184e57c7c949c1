"""One rule per kind of option value: the same answer from code, dictConfig and the environment."""

from __future__ import annotations

import math

import pytest

from plumberd_logging._options import (
    as_bool,
    non_negative_seconds,
    positive_int,
    positive_seconds,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), (" On ", True), ("1", True), ("no", False)],
)
def test_as_bool_reads_bools_and_their_spellings(value: object, expected: bool) -> None:
    assert as_bool(value, "capture_logs") is expected


@pytest.mark.parametrize("value", ["", "maybe", 1, None, 0.0])
def test_as_bool_refuses_anything_else_naming_the_option(value: object) -> None:
    with pytest.raises(ValueError, match=r"capture_logs: expected true or false, got "):
        as_bool(value, "capture_logs")


def test_positive_int_accepts_ints_and_digits() -> None:
    assert positive_int(5, "max_batch_events") == 5
    assert positive_int(" 12 ", "PLUMBERD_MAX_BATCH_EVENTS") == 12


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "1.5", "abc", None])
def test_positive_int_refuses_others(value: object) -> None:
    with pytest.raises(ValueError, match=r"^max_batch_events: expected a positive integer, got "):
        positive_int(value, "max_batch_events")


def test_seconds() -> None:
    assert non_negative_seconds(0, "linger") == 0.0
    assert non_negative_seconds("0.25", "linger") == 0.25
    assert positive_seconds(2, "timeout") == 2.0
    for bad in (-1, math.nan, "soon", False):
        with pytest.raises(ValueError, match=r"^linger: expected a number of seconds >= 0"):
            non_negative_seconds(bad, "linger")
    for bad in (0, -0.5, math.nan, "x"):
        with pytest.raises(ValueError, match=r"^timeout: expected a positive number of seconds"):
            positive_seconds(bad, "timeout")
