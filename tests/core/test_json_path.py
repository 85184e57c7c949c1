"""The orjson path and the per-class compiled encoders write what the generic loop writes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plumberd_logging import Event, Metadata, field
from plumberd_logging._values import JsonReady
from plumberd_logging.codec import Codec
from plumberd_logging.errors import InvalidEvent

ID = UUID("9f2c6a1e-5b7d-4c1a-9e3f-2a6b8c0d4e1f")


class Mixed(Event):
    name: str
    count: int
    ratio: float
    flag: bool
    ref: UUID
    note: str | None = None
    price: Decimal = Decimal("0.10")
    at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    comment: str | None = field(default=None, omit_if_none=True)
    user_id: str = field(default="u", wire_name="UserID")


class Untyped(Event):
    def __init__(self, **values: Any) -> None:
        super().__init__(id=ID)
        for key, value in values.items():
            setattr(self, key, value)


class Text(str):
    pass


def _both(event: object) -> tuple[bytes, bytes]:
    """The body written by a compiled encoder and by the generic loop."""
    compiled, generic = Codec(), Codec()
    generic._values._compiled[type(event)] = None
    return compiled.encode(event).data, generic.encode(event).data


VALUES: list[dict[str, Any]] = [
    {"name": "a", "count": 1, "ratio": 0.5, "flag": True, "ref": ID},
    {"name": Text("sub"), "count": 2**70, "ratio": 1e-7, "flag": False, "ref": str(ID)},
    {"name": "ü✓\n\"", "count": -(2**63), "ratio": 2, "flag": True, "ref": ID, "note": "n",
     "price": Decimal("20.00"), "at": datetime(2026, 1, 2, 3, 4, 5, 600, timezone.utc),
     "tags": ["x", "y"], "comment": "c", "user_id": "me"},
    {"name": "a", "count": 2**64 - 1, "ratio": -0.0, "flag": True, "ref": ID, "note": None},
    {"name": "a", "count": 3, "ratio": 1e300, "flag": True, "ref": ID, "comment": None},
]  # fmt: skip


@pytest.mark.parametrize("values", VALUES)
def test_compiled_encoder_writes_what_the_generic_loop_writes(values: dict[str, Any]) -> None:
    compiled, generic = _both(Mixed(id=ID, **values))
    assert compiled == generic
    assert json.loads(compiled)["Name"] == str(values["name"])


def test_an_attribute_added_after_construction_is_written() -> None:
    first = Untyped(a=1)
    Codec().encode(first)  # compiles the layout of `first`
    later = Untyped(a=2)
    later.b = "extra"  # type: ignore[attr-defined]
    codec = Codec()
    codec.encode(first)
    assert json.loads(codec.encode(later).data) == {"Id": str(ID), "A": 2, "B": "extra"}


def test_a_bad_value_names_its_field_on_the_compiled_path() -> None:
    codec = Codec()
    codec.encode(Mixed(id=ID, **VALUES[0]))
    bad = Mixed(id=ID, **{**VALUES[0], "ratio": float("nan")})
    with pytest.raises(InvalidEvent, match=r"Mixed\.ratio: float nan is not valid JSON"):
        codec.encode(bad)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_written_as_python_writes_them(value: float) -> None:
    data = Codec().encode({"V": value}, event_type="T", event_id=ID).data
    assert data.endswith(b',"V":' + json.dumps(value).encode() + b"}")


@given(st.integers(min_value=-(2**96) + 1, max_value=2**96 - 1))
def test_ints_up_to_96_bits_are_written_exactly(value: int) -> None:
    data = Codec().encode({"V": value}, event_type="T", event_id=ID).data
    assert data.endswith(b',"V":' + str(value).encode() + b"}")


def test_decimals_keep_their_digits_and_come_back_from_enrich() -> None:
    data = Codec().encode({"Total": Decimal("20.00"), "Tiny": Decimal("1E-9")}, event_type="T")
    assert data.data.endswith(b'"Total":20.00,"Tiny":0.000000001}')
    meta = Metadata(Amount=Decimal("1.50"), Big=2**80, Small=1e-6).enrich(ID)
    assert (meta["Amount"], meta["Big"], meta["Small"]) == (Decimal("1.50"), 2**80, 1e-6)


def test_importing_the_package_loads_neither_orjson_nor_grpc() -> None:
    code = "import plumberd_logging, sys; print(sorted({'orjson', 'grpc'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text().filter(lambda k: k != "Id"), JSON_VALUES, max_size=6))
def test_a_dict_body_gets_its_id_first_and_every_key_as_given(body: dict[str, Any]) -> None:
    for event in (body, JsonReady(body)):  # converted first, or already JSON-ready
        data = Codec().encode(event, event_type="T", event_id=ID, created=1.5).data
        assert data == orjson.dumps({"Id": str(ID), **body})
        assert list(json.loads(data)) == ["Id", *body]
