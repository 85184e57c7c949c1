"""Contract: reading streams and ``$all`` with the real kurrentdbclient.

Every ``$all`` read here is filtered to this test's own streams (a unique prefix), because a real
server's ``$all`` holds other data and system records; the in-process server has none of those.
"""

from __future__ import annotations

from typing import Any

import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import NotFoundError

from .eventstore_helpers import event, ids

NS = StreamState.NO_STREAM


def _seed(client: KurrentDBClient, prefix: str) -> dict[str, list[NewEvent]]:
    """Three streams, interleaved in commit order: a1 b1 a2 c1 a3."""
    a = [event("OrderPlaced", 1), event("OrderShipped", 2), event("OrderPlaced", 3)]
    b = [event("InvoiceSent", 1)]
    c = [event("OrderPlaced", 1)]
    for name, batch in [(f"{prefix}-a", a[:1]), (f"{prefix}-b", b), (f"{prefix}-a", a[1:2])]:
        client.append_to_stream(name, current_version=StreamState.ANY, events=batch)
    client.append_to_stream(f"{prefix}-c", current_version=NS, events=c)
    client.append_to_stream(f"{prefix}-a", current_version=1, events=a[2:])
    return {"a": a, "b": b, "c": c}


def _read_mine(client: KurrentDBClient, prefix: str, **kwargs: Any) -> list[tuple[str, str]]:
    events = client.read_all(
        filter_include=(prefix,), filter_by_stream_name=True, filter_by_prefix=True, **kwargs
    )
    return [(e.stream_name.removeprefix(prefix + "-"), e.type) for e in events]


def test_read_all_forwards_and_backwards(eventstore_client: KurrentDBClient, prefix: str) -> None:
    _seed(eventstore_client, prefix)
    forwards = [
        ("a", "OrderPlaced"),
        ("b", "InvoiceSent"),
        ("a", "OrderShipped"),
        ("c", "OrderPlaced"),
        ("a", "OrderPlaced"),
    ]

    assert _read_mine(eventstore_client, prefix) == forwards
    assert _read_mine(eventstore_client, prefix, backwards=True) == forwards[::-1]
    assert _read_mine(eventstore_client, prefix, limit=2) == forwards[:2]
    assert _read_mine(eventstore_client, prefix, backwards=True, limit=2) == forwards[:2:-1]


def test_read_all_positions_increase_and_start_inclusive_forwards_exclusive_backwards(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    _seed(eventstore_client, prefix)
    mine = list(
        eventstore_client.read_all(
            filter_include=(prefix,), filter_by_stream_name=True, filter_by_prefix=True
        )
    )
    positions = [e.commit_position for e in mine]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    third = mine[2]

    forwards = _read_mine(eventstore_client, prefix, commit_position=third.commit_position)
    backwards = _read_mine(
        eventstore_client, prefix, commit_position=third.commit_position, backwards=True
    )

    assert forwards == [("a", "OrderShipped"), ("c", "OrderPlaced"), ("a", "OrderPlaced")]
    assert backwards == [("b", "InvoiceSent"), ("a", "OrderPlaced")]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param(
            {"filter_include": (r"{p}-(a|c)",), "filter_by_stream_name": True},
            ["a", "a", "c", "a"],
            id="stream-regex",
        ),
        pytest.param(
            {"filter_include": ("{p}-b", "{p}-c"), "filter_by_stream_name": True},
            ["b", "c"],
            id="stream-regex-any-of",
        ),
        pytest.param(
            {"filter_include": ("{p}-c",), "filter_by_stream_name": True, "filter_by_prefix": True},
            ["c"],
            id="stream-prefix",
        ),
    ],
)
def test_read_all_filters_on_stream_name(
    eventstore_client: KurrentDBClient, prefix: str, kwargs: dict[str, Any], expected: list[str]
) -> None:
    _seed(eventstore_client, prefix)
    options = dict(kwargs)
    include = tuple(p.format(p=prefix) for p in options.pop("filter_include"))

    got = eventstore_client.read_all(filter_include=include, **options)

    assert [e.stream_name.removeprefix(prefix + "-") for e in got] == expected


def test_read_all_filters_on_event_type(eventstore_client: KurrentDBClient, prefix: str) -> None:
    seeded = _seed(eventstore_client, prefix)
    shipped = f"OrderShipped{prefix.replace('-', '')}"  # a type only this test writes
    eventstore_client.append_to_stream(
        f"{prefix}-d", current_version=NS, events=[event(shipped), event(shipped + "Late")]
    )

    by_regex = eventstore_client.read_all(filter_include=(shipped,))
    by_prefix = eventstore_client.read_all(filter_include=(shipped,), filter_by_prefix=True)
    excluded = [
        (e.stream_name.removeprefix(prefix + "-"), e.type)
        for e in eventstore_client.read_all(filter_exclude=(r"Order.*",))
        if e.stream_name.startswith(prefix)
    ]

    assert [e.type for e in by_regex] == [shipped]  # include regexes are anchored: ^...$
    assert [e.type for e in by_prefix] == [shipped, shipped + "Late"]
    assert excluded == [("b", "InvoiceSent")]  # exclude applies to the event type
    assert len(seeded["a"]) == 3


def test_read_all_default_filter_hides_system_events_and_type_result(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    stream = f"{prefix}-a"
    eventstore_client.append_to_stream(
        stream, current_version=NS, events=[event("Result"), event("Kept")]
    )
    eventstore_client.set_stream_metadata(stream, metadata={"Owner": "tests"})

    default = [e.type for e in eventstore_client.read_all() if e.stream_name.startswith(prefix)]
    unfiltered = [
        (e.stream_name, e.type)
        for e in eventstore_client.read_all(filter_exclude=())
        if prefix in e.stream_name
    ]

    assert default == ["Kept"]  # kurrentdbclient's default exclude regex hides "Result" too
    assert unfiltered == [(stream, "Result"), (stream, "Kept"), (f"$${stream}", "$metadata")]


def test_read_stream_forwards_backwards_from_revision_and_limit(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    events = [event(n=i) for i in range(5)]
    eventstore_client.append_to_stream(stream, current_version=NS, events=events)

    assert ids(eventstore_client.get_stream(stream)) == ids(events)
    assert ids(eventstore_client.get_stream(stream, stream_position=2)) == ids(events[2:])
    assert ids(eventstore_client.get_stream(stream, limit=2)) == ids(events[:2])
    assert ids(eventstore_client.get_stream(stream, backwards=True)) == ids(events[::-1])
    assert ids(
        eventstore_client.get_stream(stream, stream_position=3, backwards=True, limit=2)
    ) == [
        events[3].id,
        events[2].id,
    ]
    assert eventstore_client.get_stream(stream, stream_position=9) == ()
    assert eventstore_client.get_current_version(stream) == 4


def test_missing_stream_is_not_found_in_band(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    with pytest.raises(NotFoundError):
        eventstore_client.get_stream(stream)
    assert eventstore_client.get_current_version(stream) is NS
    assert eventstore_client.get_stream_metadata(stream) == ({}, NS)


def test_get_commit_position_is_the_last_appended_event(
    eventstore_client: KurrentDBClient, stream: str, is_real_server: bool
) -> None:
    if is_real_server:
        pytest.skip("other clients of a shared real server may append concurrently")
    position = eventstore_client.append_to_stream(
        stream, current_version=NS, events=[event(n=1), event(n=2)]
    )

    assert eventstore_client.get_commit_position() == position
