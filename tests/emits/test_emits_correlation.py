"""The correlation rule of @emits: nested calls, C# continuation, asyncio tasks, thread pools."""

from __future__ import annotations

import asyncio
import contextvars
import json
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID, uuid4

import pytest

from plumberd_logging import (
    CorrelationContext,
    Event,
    EventStoreClient,
    EventWriter,
    caused_by,
    correlation,
    current_context,
    emits,
    use_context,
)
from plumberd_logging.testing import InMemoryEventStore, ProposedEvent, StoredEvent

from .emits_events import Note, RecordingFailed, body, meta, stored


def ids(event: StoredEvent) -> tuple[UUID, UUID]:
    """(correlation, causation) of a stored event."""
    m = meta(event)
    return UUID(m["$correlationId"]), UUID(m["$causationId"])


def by_text(store: InMemoryEventStore, writer: EventWriter) -> dict[str, StoredEvent]:
    return {body(e)["Text"]: e for e in stored(store, writer, "Notes")}


def test_nested_calls_form_one_chain_rooted_at_the_outer_event(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(Note, "Notes", writer=writer)
    def start(text: str) -> None:  # A
        prepare("prepare")
        writer.submit("Notes", Note(text="plain"))  # a plain event written inside the call

    @emits(Note, "Notes", writer=writer)
    def prepare(text: str) -> None:  # B
        leaf("leaf")

    @emits(Note, "Notes", writer=writer)
    def leaf(text: str) -> None:  # C
        pass

    start("start")
    events = by_text(eventstore, writer)
    a, b, c, plain = (events[t] for t in ("start", "prepare", "leaf", "plain"))
    assert ids(a) == (a.id, a.id)  # the root: its own id twice
    assert ids(b) == (a.id, a.id)  # caused by the call that emitted A
    assert ids(c) == (a.id, b.id)
    assert ids(plain) == (a.id, a.id)
    order = [body(e)["Text"] for e in eventstore.events("Notes")]
    assert order == ["leaf", "prepare", "plain", "start"]  # each event when its call returns


def test_the_call_runs_in_a_scope_caused_by_its_reserved_event_id(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    inside: list[CorrelationContext | None] = []

    @emits(Note, "Notes", writer=writer)
    def note(text: str) -> None:
        inside.append(current_context())

    assert current_context() is None
    note("x")
    assert current_context() is None  # restored after the call
    [event] = stored(eventstore, writer, "Notes")
    assert inside == [CorrelationContext(event.id, event.id, None)]


def test_an_enclosing_scope_supplies_correlation_and_user(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(Note, "Notes", writer=writer)
    def outer(text: str) -> None:
        inner("inner")

    @emits(Note, "Notes", writer=writer)
    def inner(text: str) -> None:
        pass

    with correlation(user_id="alice") as ctx:
        outer("outer")
    events = by_text(eventstore, writer)
    assert ids(events["outer"]) == (ctx.correlation_id, ctx.causation_id)
    assert ids(events["inner"]) == (ctx.correlation_id, events["outer"].id)
    assert meta(events["outer"])["UserId"] == meta(events["inner"])["UserId"] == "alice"


def test_continues_a_csharp_command_read_back_from_the_store(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    """A C# command (G4 shape) is read back; the Python reaction continues its chain."""
    root, command_id = uuid4(), uuid4()
    eventstore.append(
        "SessionIn-1",
        [
            ProposedEvent(
                type="StartRecording",
                data=json.dumps({"Id": str(command_id), "Label": "front door"}).encode(),
                metadata=json.dumps(
                    {"$correlationId": str(root), "$causationId": str(root), "UserId": "bob"}
                ).encode(),
                id=command_id,
            )
        ],
    )
    with EventStoreClient(eventstore.url) as client:
        [recorded] = client.read_stream("SessionIn-1")

    @emits(Note, "Notes", writer=writer)
    def react(text: str) -> None:
        follow_up("follow-up")

    @emits(Note, "Notes", writer=writer)
    def follow_up(text: str) -> None:
        pass

    with caused_by(recorded):
        react("react")
    events = by_text(eventstore, writer)
    assert ids(events["react"]) == (root, command_id)  # caused by the command
    assert ids(events["follow-up"]) == (root, events["react"].id)
    assert meta(events["react"])["UserId"] == "bob"


def test_asyncio_tasks_started_inside_a_call_stay_in_its_chain(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(Note, "Notes", writer=writer)
    async def batch(text: str) -> None:
        await asyncio.gather(*(asyncio.create_task(item(f"{text}/item {i}")) for i in range(3)))

    @emits(Note, "Notes", writer=writer)
    async def item(text: str) -> None:
        await asyncio.sleep(0)
        await leaf(f"{text} leaf")

    @emits(Note, "Notes", writer=writer)
    async def leaf(text: str) -> None:
        pass

    async def main() -> None:
        await asyncio.gather(batch("batch 1"), batch("batch 2"))  # two chains interleaved

    asyncio.run(main())
    events = by_text(eventstore, writer)
    assert len(events) == 14
    for n in (1, 2):
        root = events[f"batch {n}"].id
        assert ids(events[f"batch {n}"]) == (root, root)
        for i in range(3):
            item_event = events[f"batch {n}/item {i}"]
            assert ids(item_event) == (root, root)
            assert ids(events[f"batch {n}/item {i} leaf"]) == (root, item_event.id)


def test_threads_through_copy_context_stay_in_the_chain(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(Note, "Notes", writer=writer)
    def fan_out(text: str) -> None:
        with ThreadPoolExecutor(3) as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, work, f"copied {i}") for i in range(3)
            ]
            futures.append(pool.submit(work, "not copied"))  # a bare thread: a new chain
            ctx = current_context()
            futures.append(pool.submit(_in_context, ctx, "handed over"))
            for f in futures:
                f.result()

    @emits(Note, "Notes", writer=writer)
    def work(text: str) -> None:
        pass

    def _in_context(ctx: object, text: str) -> None:
        assert ctx is None or hasattr(ctx, "causation_id")
        with use_context(ctx):  # type: ignore[arg-type]
            work(text)

    fan_out("fan out")
    events = by_text(eventstore, writer)
    root = events["fan out"].id
    for i in range(3):
        assert ids(events[f"copied {i}"]) == (root, root)
    assert ids(events["handed over"]) == (root, root)
    lone = events["not copied"]
    assert ids(lone) == (lone.id, lone.id)


def test_the_error_event_takes_the_reserved_id(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(Note, "Notes", writer=writer, on_error=RecordingFailed)
    def risky(text: str, recording_id: str = "rec-1") -> None:
        child("child")
        raise RuntimeError("nope")

    @emits(Note, "Notes", writer=writer)
    def child(text: str) -> None:
        pass

    with pytest.raises(RuntimeError):
        risky("risky")
    events = stored(eventstore, writer, "Notes")
    failed = next(e for e in events if e.type == "RecordingFailed")
    child_event = next(e for e in events if e.type == "Note")
    assert ids(child_event) == (failed.id, failed.id)  # its cause is the error event


def test_a_command_sent_inside_a_call_is_caused_by_it(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    from plumberd_logging import CommandBus

    class StartCamera(Event):
        label: str

    bus = CommandBus(EventStoreClient(eventstore.url), max_age=None)

    @emits(Note, "Notes", writer=writer)
    def prepare(text: str) -> None:
        bus.send(uuid4(), StartCamera(label=text))

    with bus:
        prepare("prep")
    [note] = stored(eventstore, writer, "Notes")
    [command] = eventstore.events(bus.stream_in)
    assert ids(command) == (note.id, note.id)
