"""``Metadata``: standard keys, custom keys, reserved-key validation, correlation context."""

from __future__ import annotations

import json
import re
import socket
from datetime import datetime, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from instants import parse_instant

from plumberd_logging import Codec, Event, InvalidEvent, Metadata, caused_by, correlation, encode


class Ping(Event):
    pass


def meta(
    event: Event, metadata: Metadata | None = None, codec: Codec | None = None
) -> dict[str, object]:
    result: dict[str, object] = json.loads((codec or Codec()).encode(event, metadata).metadata)
    return result


def test_root_event_has_created_host_and_its_own_id_as_correlation() -> None:
    e = Ping()
    m = meta(e)
    assert m["$correlationId"] == m["$causationId"] == str(e.id)
    assert m["ClientHostName"] == socket.gethostname()
    created = str(m["Created"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?[+-]\d\d:\d\d", created)
    assert abs(parse_instant(created).timestamp() - datetime.now().timestamp()) < 60


def test_root_correlation_can_be_omitted_for_csharp_parity() -> None:
    m = meta(Ping(), codec=Codec(root_correlation="omit", client_host_name=False))
    assert set(m) == {"Created"}


def test_custom_keys_are_merged_last_and_validated() -> None:
    cause = uuid4()
    m = meta(Ping(), Metadata(Source="cam-7", **{"$causationId": str(cause).upper()}))
    assert m["Source"] == "cam-7"
    assert m["$causationId"] == str(cause)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("$correlationId", None, "omit the key instead of sending null"),
        ("$causationId", "not-a-guid", "expected a GUID"),
        ("SessionId", str(UUID(int=0)), "nil GUID"),
        ("Created", "2025-01-01T00:00:00", "offset"),
        ("UserId", 42, "expected a str or None"),
        ("SnapshotVersion", "3", "expected an int"),
        ("RecipientId", "", "non-empty"),
        ("Extra", float("nan"), "not valid JSON"),
    ],
)
def test_reserved_keys_fail_in_the_callers_code(key: str, value: object, message: str) -> None:
    with pytest.raises(InvalidEvent, match=re.escape(message)) as info:
        Metadata(**{key: value})
    assert key in str(info.value)


def test_correlation_ids_come_in_pairs() -> None:
    codec = Codec(root_correlation="omit")
    with pytest.raises(InvalidEvent, match="without its partner"):
        codec.encode(Ping(), Metadata(**{"$causationId": str(uuid4())}))


def test_context_scope_sets_correlation_causation_and_user() -> None:
    with correlation(user_id="alice") as ctx:
        m = meta(Ping())
    assert m["$correlationId"] == str(ctx.correlation_id)
    assert m["$causationId"] == str(ctx.causation_id) == str(ctx.correlation_id)
    assert m["UserId"] == "alice"


def test_caused_by_continues_a_csharp_chain() -> None:
    root, command = uuid4(), uuid4()
    with caused_by(command, {"$correlationId": str(root), "UserId": "bob"}):
        m = meta(Ping())
    assert (m["$correlationId"], m["$causationId"], m["UserId"]) == (str(root), str(command), "bob")
    with caused_by(command):  # a message with no correlation starts the chain at itself
        m = meta(Ping())
    assert m["$correlationId"] == m["$causationId"] == str(command)


def test_enrich_is_py_micro_plumberd_compatible() -> None:
    eid = str(uuid4())
    m = Metadata(Amount=Decimal("1.50")).enrich(eid)
    assert m["$correlationId"] == m["$causationId"] == eid
    assert m["Amount"] == Decimal("1.50")
    assert {"Created", "ClientHostName"} <= m.keys()
    assert Metadata.default() == Metadata()


def test_created_can_be_given_and_is_written_with_its_offset() -> None:
    m = Metadata(Created=datetime(2025, 1, 1, tzinfo=timezone.utc)).enrich(uuid4())
    assert m["Created"] == "2025-01-01T00:00:00+00:00"


def test_decimal_metadata_is_a_json_number() -> None:
    raw = encode(Ping(), Metadata(Amount=Decimal("1.50"))).metadata
    assert b'"Amount":1.50' in raw
