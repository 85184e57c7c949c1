"""CommandBus: the G4 golden command, session streams, correlation, the 0.1.9 API, async."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from plumberd_logging import (
    CommandBus,
    Event,
    EventStoreClient,
    InvalidEvent,
    PlumberdError,
    Receipt,
    WriterClosed,
    caused_by,
    correlation,
)
from plumberd_logging.testing import InMemoryEventStore, StoredEvent

# G4 (wire-format.md §10)
G4_COMMAND_ID = UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
G4_SESSION = UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
G4_RECIPIENT = UUID("6fa459ea-ee8a-3ca4-894e-db77e160355e")
G4_STREAM = ">SessionIn-7c9e6679-7425-40de-944b-e07fc1f90ae7"
G4_DATA = (
    b'{"Id":"1b4e28ba-2fa1-41d2-883f-0016d3cca427",'
    b'"CameraId":"6fa459ea-ee8a-3ca4-894e-db77e160355e","Label":"front door"}'
)
G4_METADATA = (
    b'{"Created":"2025-09-06T13:55:11.25+00:00",'
    b'"$correlationId":"1b4e28ba-2fa1-41d2-883f-0016d3cca427",'
    b'"$causationId":"1b4e28ba-2fa1-41d2-883f-0016d3cca427",'
    b'"RecipientId":"6fa459ea-ee8a-3ca4-894e-db77e160355e",'
    b'"SessionId":"7c9e6679-7425-40de-944b-e07fc1f90ae7","UserId":null}'
)
THIRTY_DAYS = 30 * 24 * 3600


class StartRecording(Event):
    camera_id: UUID
    label: str


def g4_command() -> StartRecording:
    return StartRecording(id=G4_COMMAND_ID, camera_id=G4_RECIPIENT, label="front door")


def meta(event: StoredEvent) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.metadata)
    return data


@pytest.fixture
def bus(eventstore: InMemoryEventStore) -> Iterator[CommandBus]:
    with CommandBus(EventStoreClient(eventstore.url), session_id=G4_SESSION) as b:
        yield b


def test_send_writes_exactly_g4(eventstore: InMemoryEventStore, bus: CommandBus) -> None:
    bus.send(G4_RECIPIENT, g4_command())
    [event] = eventstore.events(G4_STREAM)
    assert event.type == "StartRecording"
    assert event.id == G4_COMMAND_ID  # the command id, never a random one
    assert event.content_type == "application/json"
    assert event.data == G4_DATA
    written = meta(event)
    golden = json.loads(G4_METADATA)
    assert set(written) - {"ClientHostName"} == set(golden)
    assert {k: written[k] for k in golden if k != "Created"} == {
        k: v for k, v in golden.items() if k != "Created"
    }
    assert written["UserId"] is None  # JSON null, as C# expects
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d", written["Created"])


def test_session_streams_get_max_age_of_30_days_once(
    eventstore: InMemoryEventStore, bus: CommandBus
) -> None:
    assert eventstore.stream_metadata(bus.stream_in) == {}  # nothing before the first command
    bus.send(G4_RECIPIENT, g4_command())
    bus.send(G4_RECIPIENT, StartRecording(camera_id=G4_RECIPIENT, label="again"))
    assert eventstore.stream_metadata(G4_STREAM) == {"$maxAge": THIRTY_DAYS}
    assert eventstore.stream_metadata(bus.stream_out) == {"$maxAge": THIRTY_DAYS}
    assert len(eventstore.events(f"$${G4_STREAM}")) == 1
    assert bus.client.get_stream_metadata(bus.stream_out) == {"$maxAge": THIRTY_DAYS}


def test_max_age_none_leaves_stream_metadata_alone(eventstore: InMemoryEventStore) -> None:
    with CommandBus(EventStoreClient(eventstore.url), max_age=None) as bus:
        bus.send("r-1", g4_command())
        assert eventstore.stream_metadata(bus.stream_in) == {}


def test_a_failing_max_age_is_reported_and_the_command_still_sent(
    eventstore: InMemoryEventStore, bus: CommandBus, capsys: pytest.CaptureFixture[str]
) -> None:
    eventstore.faults.fail("Append", "UNAVAILABLE", times=None)  # stream metadata: Append
    bus.send(G4_RECIPIENT, g4_command())  # the command goes via BatchAppend
    assert [e.id for e in eventstore.events(G4_STREAM)] == [G4_COMMAND_ID]
    assert "cannot set $maxAge on '>SessionIn-" in capsys.readouterr().err
    eventstore.faults.clear()
    bus.send(G4_RECIPIENT, StartRecording(camera_id=G4_RECIPIENT, label="retry"))
    assert eventstore.stream_metadata(G4_STREAM) == {"$maxAge": THIRTY_DAYS}  # retried


def test_resending_the_same_command_is_deduplicated(
    eventstore: InMemoryEventStore, bus: CommandBus
) -> None:
    command = g4_command()
    bus.send(G4_RECIPIENT, command)
    bus.send(G4_RECIPIENT, command)
    assert len(eventstore.events(G4_STREAM)) == 1


def test_correlation_comes_from_the_scope(eventstore: InMemoryEventStore, bus: CommandBus) -> None:
    root, trigger = uuid4(), uuid4()
    with caused_by(trigger, {"$correlationId": str(root), "UserId": "alice"}):
        bus.send(G4_RECIPIENT, g4_command())
    with correlation(user_id="bob") as ctx:
        bus.send(G4_RECIPIENT, StartRecording(camera_id=G4_RECIPIENT, label="2"))
    first, second = (meta(e) for e in eventstore.events(G4_STREAM))
    assert (first["$correlationId"], first["$causationId"], first["UserId"]) == (
        str(root),
        str(trigger),
        "alice",
    )
    assert second["$correlationId"] == str(ctx.correlation_id)
    assert second["UserId"] == "bob"


def test_the_bus_user_is_used_outside_a_scope_with_a_user(eventstore: InMemoryEventStore) -> None:
    with CommandBus(EventStoreClient(eventstore.url), user_id="svc-recorder") as bus:
        bus.send(G4_RECIPIENT, g4_command())
        [event] = eventstore.events(bus.stream_in)
    assert meta(event)["UserId"] == "svc-recorder"


@pytest.mark.parametrize(
    ("recipient", "written"),
    [
        (G4_RECIPIENT, str(G4_RECIPIENT)),
        (str(G4_RECIPIENT).upper(), str(G4_RECIPIENT)),  # C# Guid.ToString() is lowercase
        ("camera-7", "camera-7"),
        (42, "42"),
    ],
)
def test_recipient_ids_as_csharp_renders_them(
    eventstore: InMemoryEventStore, bus: CommandBus, recipient: Any, written: str
) -> None:
    bus.send(recipient, g4_command())
    assert meta(eventstore.events(G4_STREAM)[0])["RecipientId"] == written


def test_dict_commands_need_a_type_and_get_an_id(
    eventstore: InMemoryEventStore, bus: CommandBus
) -> None:
    with pytest.raises(InvalidEvent, match=r"command_type=\.\.\."):
        bus.send("r", {"Label": "x"})
    bus.send("r", {"Label": "x"}, command_type="StartRecording")
    [event] = eventstore.events(G4_STREAM)
    assert event.type == "StartRecording"
    assert json.loads(event.data) == {"Id": str(event.id), "Label": "x"}
    assert meta(event)["$correlationId"] == str(event.id)


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda b: b.send("r", object()), InvalidEvent, "object has no id"),
        (lambda b: b.send("", g4_command()), ValueError, "recipient_id: must not be empty"),
        (lambda b: b.send(1.5, g4_command()), TypeError, "recipient_id: expected a UUID"),
        (
            lambda b: asyncio.run(b.queue_async("r", g4_command(), fire_and_forget=False)),
            NotImplementedError,
            "queue_async only queues",
        ),
        (lambda b: b.send("r", g4_command(), False, 0), ValueError, "timeout: expected"),
        (
            lambda b: b.send("r", {"Id": str(UUID(int=0))}, command_type="X"),
            InvalidEvent,
            "non-nil GUID",
        ),
    ],
)
def test_bad_sends_fail_in_the_callers_code(
    eventstore: InMemoryEventStore, bus: CommandBus, call: Any, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=re.escape(text)):
        call(bus)
    assert eventstore.events(G4_STREAM) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"session_id": UUID(int=0)}, ValueError, "nil GUID"),
        ({"session_id": "nope"}, ValueError, "session_id=...): expected a GUID"),
        ({"session_id": 5}, TypeError, "expected a UUID or str"),
        ({"max_age": 30}, ValueError, "max_age=...): expected a timedelta"),
        ({"timeout": 0}, ValueError, "timeout=...): expected seconds > 0"),
        ({"user_id": 7}, TypeError, "user_id=...): expected a str"),
        ({"writer": "w"}, TypeError, "writer=...): expected an EventWriter"),
    ],
)
def test_bad_options_are_named(
    eventstore: InMemoryEventStore, kwargs: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=re.escape(text)):
        CommandBus(eventstore.url, **kwargs)
    with pytest.raises(TypeError, match="expected an EventStoreClient or a connection string"):
        CommandBus(42)  # type: ignore[arg-type]


def test_py_micro_plumberd_shape_and_close_closes_the_client(
    eventstore: InMemoryEventStore,
) -> None:
    client = EventStoreClient(eventstore.url)
    bus = CommandBus(client)
    assert isinstance(bus.session_id, str)
    assert UUID(bus.session_id).version == 4
    assert bus.stream_in == f">SessionIn-{bus.session_id}"
    assert bus.stream_out == f">SessionOut-{bus.session_id}"
    assert bus.client is client
    with bus:
        bus.send("r", g4_command())
    assert "closed" in repr(client)  # as 0.1.9 does
    with pytest.raises(PlumberdError, match="closed"):
        bus.send("r", g4_command())
    bus.close()  # idempotent

    kept = EventStoreClient(eventstore.url)
    with CommandBus(kept, close_client=False) as other:
        other.send("r", g4_command())
    assert kept.read_stream(other.stream_in)[0].id == G4_COMMAND_ID
    kept.close()


def test_send_async_and_queue_async(eventstore: InMemoryEventStore) -> None:
    async def main() -> Receipt:
        async with CommandBus(EventStoreClient(eventstore.url), session_id=G4_SESSION) as abus:
            position = await abus.send_async(G4_RECIPIENT, g4_command())
            assert position > 0
            with caused_by(G4_COMMAND_ID):
                # the bus's writer delivers it before the bus closes
                return await abus.queue_async(
                    G4_RECIPIENT, StartRecording(camera_id=G4_RECIPIENT, label="queued")
                )

    receipt = asyncio.run(main())
    assert receipt.done()
    assert receipt.exception() is None
    first, queued = eventstore.events(G4_STREAM)
    assert first.data == G4_DATA
    assert json.loads(queued.data)["Label"] == "queued"
    assert queued.id == receipt.event_id
    assert meta(queued)["$causationId"] == str(G4_COMMAND_ID)
    assert meta(queued)["RecipientId"] == str(G4_RECIPIENT)
    assert meta(queued)["UserId"] is None


def test_queue_async_validates_before_queueing(bus: CommandBus) -> None:
    async def main() -> None:
        with pytest.raises(InvalidEvent, match="label"):
            await bus.queue_async("r", StartRecording(camera_id=uuid4(), label=float("nan")))  # type: ignore[arg-type]

    asyncio.run(main())


def test_queue_async_on_a_closed_bus_returns_a_failed_receipt_and_counts_it(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    bus = CommandBus(EventStoreClient(eventstore.url), session_id=G4_SESSION)
    bus.close()

    async def main() -> list[Receipt]:
        return [await bus.queue_async(G4_RECIPIENT, g4_command()) for _ in range(3)]

    receipts = asyncio.run(main())  # nothing raised into the caller
    assert all(r.done() for r in receipts)
    assert all(isinstance(r.exception(0), WriterClosed) for r in receipts)
    with pytest.raises(WriterClosed, match="is closed"):
        receipts[0].result(0)
    assert bus.failures == {"closed": 3}
    err = capsys.readouterr().err
    assert err.count("plumberd-logging: command StartRecording not queued (closed)") == 1
    assert eventstore.events(G4_STREAM) == []


def test_send_async_does_not_block_the_event_loop(
    eventstore: InMemoryEventStore, bus: CommandBus
) -> None:
    """While the server holds the append, other tasks keep running on the loop."""
    bus.send("warm-up", {"Label": "warm"}, command_type="Warm")  # connection and $maxAge done
    eventstore.faults.delay("BatchAppend", 0.5, times=1)
    calls_before = eventstore.calls["BatchAppend"]

    async def main() -> int:
        ticks = 0
        send = asyncio.create_task(bus.send_async(G4_RECIPIENT, g4_command()))
        deadline = time.monotonic() + 5
        while eventstore.calls["BatchAppend"] == calls_before:  # the append reached the server
            assert time.monotonic() < deadline
            await asyncio.sleep(0.001)
        while not send.done():  # ... and is held there for 0.5 s: the loop keeps ticking
            ticks += 1
            await asyncio.sleep(0.001)
        await send
        return ticks

    ticks = asyncio.run(main())
    assert ticks > 20  # a blocking send would have let this task run zero times
    assert eventstore.events(G4_STREAM)[-1].id == G4_COMMAND_ID
