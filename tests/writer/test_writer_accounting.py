"""What the writer counts and bounds: queue bytes during an outage, drops, batches, the spool."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

import pytest
from helpers import Ping

from plumberd_logging import Codec, QueueFull
from plumberd_logging.context import CorrelationContext
from plumberd_logging.metadata import Metadata, build_metadata, standard_metadata_json
from plumberd_logging.testing import InMemoryEventStore
from plumberd_logging.writer import EventWriter, RetryPolicy


def test_queue_bytes_bound_holds_while_the_server_is_down(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    eventstore.faults.fail("BatchAppend", "UNAVAILABLE", times=None)
    writer = EventWriter(
        eventstore.url,
        max_queue_bytes=100_000,
        overflow="drop_newest",
        retry=RetryPolicy(initial_backoff=0.05, max_backoff=0.05),
        close_timeout=0.1,
    )
    blob = "x" * 5_000
    for _ in range(30):  # 150 kB of events, accepted while they are not yet encoded
        writer.submit("Down-1", {"Blob": blob}, event_type="Blob")
    # while it waits to retry, the writer encodes the waiting events and counts their bytes
    eventstore.wait_for(lambda: writer.stats().queue_bytes >= 100_000, timeout=10)
    late = writer.submit("Down-1", {"Blob": blob}, event_type="Blob")
    assert isinstance(late.exception(timeout=0), QueueFull)
    stats = writer.stats()
    assert stats.dropped == {"queue_full": 1}
    assert stats.queue_bytes < 200_000
    assert "queue full: dropping events (drop_newest)" in capsys.readouterr().err
    writer.close(0.1)
    assert "1 events were dropped while the queue was full" in capsys.readouterr().err


def test_batches_count_calls_to_the_server(eventstore: InMemoryEventStore) -> None:
    streams = [f"Cam-{uuid4()}" for _ in range(50)]
    with EventWriter(eventstore.url) as writer:
        for i in range(500):
            writer.submit(streams[i % 50], Ping(n=i))
        assert writer.flush(10)
        stats = writer.stats()
    assert stats.sent == 500
    assert stats.batches == eventstore.calls["AppendSession"] + eventstore.calls["BatchAppend"]


def test_flush_returns_once_the_spool_is_clean(
    eventstore: InMemoryEventStore, tmp_path: Path
) -> None:
    with EventWriter(eventstore.url, spool_path=tmp_path) as writer:
        for i in range(300):
            writer.submit("Sp-1", Ping(n=i))
        assert writer.flush(10)
        assert writer.stats().spooled == 0  # a crash now would replay nothing


@pytest.mark.parametrize("user", [None, "alice", 'o"brien\\x', "ünïcødé"])
@pytest.mark.parametrize("with_context", [False, True])
@pytest.mark.parametrize("root", ["event_id", "omit"])
@pytest.mark.parametrize("host", [True, False])
def test_standard_metadata_fast_path_is_byte_identical(
    user: str | None, with_context: bool, root: str, host: bool
) -> None:
    eid = str(uuid4())
    ctx = CorrelationContext(uuid4(), uuid4(), user) if with_context else None
    general = Codec().dumps(
        build_metadata(
            eid,
            None,
            created=1757166909.5,
            context=ctx,
            root_correlation=root,  # type: ignore[arg-type]
            client_host_name=host,
        ),
        "Metadata",
    )
    fast = standard_metadata_json(
        eid,
        created=1757166909.5,
        context=ctx,
        root_correlation=root,  # type: ignore[arg-type]
        client_host_name=host,
    )
    assert fast == general
    json.loads(fast)


def test_custom_metadata_still_takes_the_general_path() -> None:
    enc = Codec().encode(Ping(n=1), Metadata(Camera="front"))
    assert json.loads(enc.metadata)["Camera"] == "front"
