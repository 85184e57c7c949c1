"""Golden examples G1, G2, G3 and G5 (wire-format.md §10): exact bytes, as C# reads them."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from golden import (
    G1_CREATED,
    G1_DATA,
    G1_EVENT,
    G1_METADATA,
    G2_CREATED,
    G2_DATA,
    G2_EVENT,
    G2_METADATA,
    G3_CREATED,
    G3_DATA,
    G3_EVENT,
    G3_METADATA,
    G5_CREATED,
    G5_DATA,
    G5_EVENT,
    G5_METADATA,
    G5_TRIGGER,
    G5_USER,
)

from plumberd_logging import Codec, Event, caused_by, encode
from plumberd_logging.codec import EncodedEvent

EXACT = Codec(client_host_name=False)

ROOTS = [
    pytest.param(G1_EVENT, G1_CREATED, G1_DATA, G1_METADATA, id="G1"),
    pytest.param(G2_EVENT, G2_CREATED, G2_DATA, G2_METADATA, id="G2"),
    pytest.param(G3_EVENT, G3_CREATED, G3_DATA, G3_METADATA, id="G3"),
]


def parse(raw: bytes) -> Any:
    return json.loads(raw, parse_float=Decimal)


@pytest.mark.parametrize(("event", "created", "data", "metadata"), ROOTS)
def test_root_event_bytes_are_exactly_golden(
    event: Event, created: object, data: bytes, metadata: bytes
) -> None:
    enc = EXACT.encode(event, created=created)  # type: ignore[arg-type]
    assert enc == EncodedEvent(event.id, type(event).__name__, data, metadata)


@pytest.mark.parametrize(("event", "created", "data", "metadata"), ROOTS)
def test_default_codec_adds_only_client_host_name(
    event: Event, created: object, data: bytes, metadata: bytes
) -> None:
    enc = encode(event, created=created)  # type: ignore[arg-type]
    assert enc.data == data
    meta = parse(enc.metadata)
    assert isinstance(meta.pop("ClientHostName"), str)
    assert meta == parse(metadata)


def test_g3_decimals_keep_their_exact_digits() -> None:
    body = parse(EXACT.encode(G3_EVENT).data)
    assert body["Total"] == Decimal("20.00")
    assert str(body["Total"]) == "20.00"
    assert [str(i["UnitPrice"]) for i in body["Items"]] == ["9.99", "0.02"]


def test_g5_caused_event_carries_the_trigger_chain_and_user() -> None:
    incoming = {"$correlationId": str(G5_TRIGGER), "UserId": G5_USER}
    with caused_by(G5_TRIGGER, incoming):
        enc = EXACT.encode(G5_EVENT, created=G5_CREATED)
    assert enc.data == G5_DATA
    assert enc.metadata == G5_METADATA
    assert enc.id == G5_EVENT.id


@pytest.mark.parametrize("event", [G1_EVENT, G2_EVENT, G3_EVENT, G5_EVENT])
def test_event_store_id_is_the_body_id(event: Event) -> None:
    enc = encode(event)
    assert enc.id == event.id
    assert parse(enc.data)["Id"] == str(event.id)


@pytest.mark.parametrize("event", [G1_EVENT, G2_EVENT, G3_EVENT, G5_EVENT])
def test_output_is_compact_utf8_json(event: Event) -> None:
    enc = encode(event)
    for raw in (enc.data, enc.metadata):
        text = raw.decode("utf-8")
        json.loads(text)
        outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
        assert not re.search(r"\s", outside_strings)
        assert not raw.startswith(b"\xef\xbb\xbf")
