"""Property tests: any nested value either encodes to JSON that C# reads back as the same value,
or raises ``InvalidEvent`` naming its path; never anything else.

The reader below is written from the System.Text.Json rules in wire-format.md §3 (formats parsed
with their own regexes), not from the codec's code.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from plumberd_logging import Event, InvalidEvent, encode


class Holder(Event):
    value: Any


@dataclasses.dataclass
class Box:
    inner_value: Any


class Level(IntEnum):
    LOW = 0
    HIGH = 7


class Color(Enum):
    RED = "red"


OFFSETS = st.sampled_from([0, 60, -300, 330, 345, -720, 840]).map(
    lambda m: timezone(timedelta(minutes=m))
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.uuids(),
    st.datetimes(timezones=OFFSETS),
    st.dates(),
    st.times(),
    st.timedeltas(min_value=timedelta(days=-10_000_000), max_value=timedelta(days=10_000_000)),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.binary(),
    st.sampled_from(Level),
)


def nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
        st.builds(Box, children),
    )


valid_values = st.recursive(scalars, nested, max_leaves=12)
invalid_leaves = st.one_of(
    st.just(float("nan")),
    st.just(Decimal("NaN")),
    st.datetimes(),  # naive
    st.just(Color.RED),
    st.just({(1, 2): "tuple key"}),
    st.just(2**100),
    st.just(object()),
    st.times(timezones=OFFSETS).filter(lambda t: t.tzinfo is not None),
)
any_values = st.recursive(st.one_of(scalars, invalid_leaves), nested, max_leaves=12)

DTO = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?(Z|([+-])(\d\d):(\d\d))$"
)
TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)(?:\.(\d{7}))?$")
SPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d\d):(\d\d):(\d\d)(?:\.(\d{7}))?$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def ticks_fraction(text: str | None) -> int:
    """Microseconds from a 1-7 digit fraction (C# keeps 7 digits: 100 ns ticks)."""
    ticks = int((text or "").ljust(7, "0") or "0")
    assert ticks % 10 == 0, "Python values have microsecond precision"
    return ticks // 10


def csharp_reads(original: Any, written: Any) -> None:
    """Assert that C# System.Text.Json reads ``written`` back as ``original``."""
    if original is None or isinstance(original, bool | str):
        assert written == original and type(written) is type(original)
    elif isinstance(original, Enum):
        assert written == original.value and type(written) is int
    elif isinstance(original, int):
        assert written == original and type(written) is int
    elif isinstance(original, float):
        assert isinstance(written, Decimal | int) and float(written) == original
    elif isinstance(original, UUID):
        assert GUID.match(written) and UUID(written) == original
    elif isinstance(original, datetime):
        m = DTO.match(written)
        assert m, written
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        offset = timedelta(0)
        if m.group(8) != "Z":
            sign = -1 if m.group(9) == "-" else 1
            offset = sign * timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        read = datetime(y, mo, d, h, mi, s, ticks_fraction(m.group(7)), timezone(offset))
        assert read == original and read.utcoffset() == original.utcoffset()
    elif isinstance(original, date):
        assert written == f"{original.year:04d}-{original.month:02d}-{original.day:02d}"
    elif isinstance(original, time):
        m = TIME.match(written)
        assert m, written
        h, mi, s = (int(g) for g in m.groups()[:3])
        assert time(h, mi, s, ticks_fraction(m.group(4))) == original
    elif isinstance(original, timedelta):
        m = SPAN.match(written)
        assert m, written
        span = timedelta(
            days=int(m.group(2) or 0),
            hours=int(m.group(3)),
            minutes=int(m.group(4)),
            seconds=int(m.group(5)),
            microseconds=ticks_fraction(m.group(6)),
        )
        assert (-span if m.group(1) else span) == original
    elif isinstance(original, Decimal):
        assert isinstance(written, Decimal | int)
        assert Decimal(written) == original
        if isinstance(written, Decimal) and original.as_tuple().exponent <= 0:  # type: ignore[operator]
            assert written.as_tuple() == original.as_tuple()  # same digits, same scale
    elif isinstance(original, bytes):
        assert base64.b64decode(written, validate=True) == original
    elif isinstance(original, list):
        assert isinstance(written, list) and len(written) == len(original)
        for o, w in zip(original, written, strict=True):
            csharp_reads(o, w)
    elif isinstance(original, dict):
        assert isinstance(written, dict) and written.keys() == original.keys()
        for key, o in original.items():
            csharp_reads(o, written[key])
    elif isinstance(original, Box):
        assert isinstance(written, dict) and written.keys() == {"InnerValue"}
        csharp_reads(original.inner_value, written["InnerValue"])
    else:
        raise AssertionError(f"unexpected original {original!r}")


@settings(max_examples=300, deadline=None)
@given(valid_values)
def test_valid_values_round_trip_under_csharp_rules(value: Any) -> None:
    event = Holder(value=value)
    enc = encode(event)
    body = json.loads(enc.data, parse_float=Decimal)
    assert body["Id"] == str(event.id)
    csharp_reads(value, body["Value"])


@settings(max_examples=300, deadline=None)
@given(any_values)
def test_any_value_round_trips_or_fails_naming_its_path(value: Any) -> None:
    try:
        enc = encode(Holder(value=value))
    except InvalidEvent as exc:
        assert exc.path.startswith(("Holder.value", "Holder.Value")), exc.path
        assert str(exc).startswith(exc.path + ": ")
        return
    csharp_reads(value, json.loads(enc.data, parse_float=Decimal)["Value"])
