"""Value rules of the codec (wire-format.md E4): each rule, and each rejection naming its path."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from pathlib import PurePosixPath
from typing import Any, NamedTuple
from uuid import UUID

import pydantic
import pytest

from plumberd_logging import Codec, Event, InvalidEvent, encode, field


class Holder(Event):
    value: Any


def body(value: Any, codec: Codec | None = None) -> Any:
    enc = (codec or Codec()).encode(Holder(value=value))
    return json.loads(enc.data, parse_float=Decimal)["Value"]


def error(value: Any, codec: Codec | None = None) -> str:
    with pytest.raises(InvalidEvent) as info:
        (codec or Codec()).encode(Holder(value=value))
    assert info.value.path.startswith("Holder.value")
    return str(info.value)


class Color(Enum):
    RED = "red"


class Level(IntEnum):
    LOW = 0
    HIGH = 2


# -- datetimes ----------------------------------------------------------------------------------


def test_aware_utc_datetime_is_written_with_z_and_trimmed_fraction() -> None:
    assert body(datetime(2025, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc)) == (
        "2025-01-02T03:04:05.12Z"
    )


def test_other_offsets_are_written_as_plus_hh_mm() -> None:
    tz = timezone(timedelta(hours=-5, minutes=-30))
    assert body(datetime(2025, 1, 2, 3, 4, 5, tzinfo=tz)) == "2025-01-02T03:04:05-05:30"


def test_naive_datetime_is_rejected_with_the_reason() -> None:
    message = error(datetime(2025, 1, 2, 3, 4, 5))
    assert "naive datetime" in message
    assert "local time zone" in message


def test_naive_datetime_as_utc_when_asked() -> None:
    codec = Codec(naive_datetimes="utc")
    assert body(datetime(2025, 1, 2, 3, 4, 5), codec) == "2025-01-02T03:04:05Z"


def test_offset_with_seconds_is_rejected() -> None:
    tz = timezone(timedelta(seconds=3601))
    assert "whole minutes" in error(datetime(2025, 1, 2, tzinfo=tz))


def test_date_and_time_use_csharp_dateonly_and_timeonly_text() -> None:
    assert body(date(2025, 3, 4)) == "2025-03-04"
    assert body(time(7, 8, 9)) == "07:08:09"
    assert body(time(7, 8, 9, 5)) == "07:08:09.0000050"
    assert "TimeOnly" in error(time(7, 8, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=1, minutes=30), "01:30:00"),
        (timedelta(seconds=1.5), "00:00:01.5000000"),
        (timedelta(days=2, microseconds=1), "2.00:00:00.0000010"),
        (timedelta(seconds=-1), "-00:00:01"),
        (-timedelta(days=1, hours=2), "-1.02:00:00"),
        (timedelta(0), "00:00:00"),
    ],
)
def test_timedelta_is_a_dotnet_timespan(delta: timedelta, text: str) -> None:
    assert body(delta) == text


def test_timedelta_beyond_timespan_range_is_rejected() -> None:
    assert "TimeSpan" in error(timedelta(days=20_000_000))


# -- numbers, enums, bytes, ids -----------------------------------------------------------------


def test_decimal_keeps_exact_digits_as_a_json_number() -> None:
    enc = encode(Holder(value=[Decimal("1.10"), Decimal("1E+2"), Decimal("-0.000")]))
    assert b'"Value":[1.10,100,-0.000]' in enc.data


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_decimal_nan_and_infinity_are_rejected(bad: Decimal) -> None:
    assert "is not valid JSON" in error(bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_float_nan_and_infinity_are_rejected(bad: float) -> None:
    assert "is not valid JSON" in error(bad)


def test_int_enum_is_written_as_its_integer() -> None:
    assert body(Level.HIGH) == 2


def test_string_enum_is_rejected_unless_allowed() -> None:
    assert "C# reads enums as integers" in error(Color.RED)
    assert body(Color.RED, Codec(string_enums=True)) == "red"


def test_bytes_are_standard_base64_with_padding() -> None:
    assert body(b"\xfb\xff\xfe\x01") == "+//+AQ=="
    assert body(bytearray(b"\xff")) == "/w=="


def test_uuids_are_lowercase_dashed() -> None:
    assert body(UUID("0B5E7D52-4F6A-4C1B-9A3E-2D8F1C7B6A90")) == (
        "0b5e7d52-4f6a-4c1b-9a3e-2d8f1c7b6a90"
    )


def test_integers_beyond_any_csharp_number_are_rejected() -> None:
    assert body(2**63) == 2**63
    assert "does not fit" in error(2**100)


# -- containers and objects ---------------------------------------------------------------------


def test_dict_keys_are_kept_verbatim_and_stringified() -> None:
    key = UUID(int=5)
    assert body({"utm_source": 1, 7: 2, key: 3}) == {"utm_source": 1, "7": 2, str(key): 3}


def test_non_string_dict_keys_are_rejected() -> None:
    assert "C# dictionary keys are strings" in error({(1, 2): "x"})


def test_sets_become_sorted_arrays_and_tuples_arrays() -> None:
    assert body({3, 1, 2}) == [1, 2, 3]
    assert body(("a", "b")) == ["a", "b"]


@dataclasses.dataclass
class Address:
    street_name: str
    zip_code: str = field(wire_name="ZIP")


class Point(NamedTuple):
    x_pos: int
    y_pos: int


class Plain:
    def __init__(self) -> None:
        self.first_name = "Ada"
        self._secret = "hidden"


class Model(pydantic.BaseModel):
    camera_id: int
    aliased: str = pydantic.Field(alias="CameraLabel")


def test_nested_objects_use_pascal_case_recursively() -> None:
    value = [Address("Main", "123"), Point(1, 2), Plain(), Model(camera_id=3, CameraLabel="x")]
    assert body(value) == [
        {"StreetName": "Main", "ZIP": "123"},
        {"XPos": 1, "YPos": 2},
        {"FirstName": "Ada"},
        {"CameraId": 3, "CameraLabel": "x"},
    ]


def test_path_names_the_field_inside_lists_and_objects() -> None:
    with pytest.raises(InvalidEvent) as info:
        encode(Holder(value={"k": [1, Address("x", float("nan"))]}))  # type: ignore[arg-type]
    assert str(info.value) == "Holder.value['k'][1].zip_code: expected str, got float nan"


def test_unknown_types_are_rejected_naming_the_type() -> None:
    assert "cannot write a value of type lock" in error(threading.Lock())
    assert "cannot write a value of type function" in error(lambda: 1)


def test_reference_cycles_are_reported_not_recursed_forever() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert "reference cycle" in error(loop)


def test_path_like_values_are_strings() -> None:
    assert body(PurePosixPath("/recordings/a.mp4")) == "/recordings/a.mp4"


def test_lone_surrogates_are_rejected_with_a_path() -> None:
    with pytest.raises(InvalidEvent) as info:
        encode(Holder(value=["ok", "\ud800"]))
    assert "lone surrogate" in str(info.value)
    assert info.value.path == "Holder.Value[1]"
