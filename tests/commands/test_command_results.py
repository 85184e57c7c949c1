"""CommandBus with fire_and_forget=False: waiting for a C# handler's answer on >SessionOut."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from uuid import UUID

import pytest

from plumberd_logging import CommandBus, CommandFailed, CommandTimeout, Event, EventStoreClient
from plumberd_logging.testing import InMemoryEventStore, ProposedEvent, StoredEvent


class StartRecording(Event):
    label: str


Answer = Callable[[StoredEvent], list[ProposedEvent]]


def executed(command: StoredEvent) -> list[ProposedEvent]:
    body = {"CommandId": str(command.id), "Duration": "00:00:00.0123456"}
    return [ProposedEvent(f"{command.type}Executed", json.dumps(body).encode())]


def failed(command: StoredEvent) -> list[ProposedEvent]:
    label = json.loads(command.data)["Label"]
    other = {"CommandId": "00000000-0000-4000-8000-000000000001", "Duration": "00:00:00"}
    body = {"CommandId": str(command.id), "Message": f"camera busy: {label}", "Code": 409}
    return [  # an answer to another command first: ignored
        ProposedEvent(f"{command.type}Executed", json.dumps(other).encode()),
        ProposedEvent(f"{command.type}Failed", json.dumps(body).encode()),
    ]


@pytest.fixture
def handler(eventstore: InMemoryEventStore) -> Iterator[Callable[[CommandBus, Answer], None]]:
    """Start a fake C# command handler: it answers each command of a bus on >SessionOut."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(bus: CommandBus, answer: Answer) -> None:
        def run() -> None:
            seen = 0

            def more() -> bool:
                return stop.is_set() or len(eventstore.events(bus.stream_in)) > seen

            while not stop.is_set():
                eventstore.wait_for(more, timeout=30)
                commands = eventstore.events(bus.stream_in)
                for command in commands[seen:]:
                    eventstore.append(bus.stream_out, answer(command))
                seen = len(commands)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(5)


@pytest.fixture
def bus(eventstore: InMemoryEventStore) -> Iterator[CommandBus]:
    with CommandBus(EventStoreClient(eventstore.url), max_age=None) as b:
        yield b


def test_send_returns_once_the_handler_executed_the_command(
    eventstore: InMemoryEventStore, bus: CommandBus, handler: Callable[[CommandBus, Answer], None]
) -> None:
    handler(bus, executed)
    command = StartRecording(label="front door")
    position = bus.send("cam-1", command, fire_and_forget=False, timeout=10)
    [answer] = eventstore.events(bus.stream_out)  # already there when send returned
    assert answer.type == "StartRecordingExecuted"
    assert json.loads(answer.data)["CommandId"] == str(command.id)
    assert position == eventstore.events(bus.stream_in)[0].commit_position


def test_a_failed_command_raises_with_the_handlers_message_and_code(
    bus: CommandBus, handler: Callable[[CommandBus, Answer], None]
) -> None:
    handler(bus, failed)
    command = StartRecording(label="front door")
    with pytest.raises(CommandFailed, match="camera busy: front door") as info:
        bus.send("cam-1", command, fire_and_forget=False, timeout=10)
    assert info.value.code == 409
    assert info.value.command_id == command.id
    assert info.value.event.type == "StartRecordingFailed"


def test_no_handler_means_a_timeout_that_says_so(
    eventstore: InMemoryEventStore, bus: CommandBus
) -> None:
    with pytest.raises(CommandTimeout, match="is a C# handler for StartRecording running"):
        bus.send("cam-1", StartRecording(label="x"), fire_and_forget=False, timeout=1.0)
    assert len(eventstore.events(bus.stream_in)) == 1  # the command itself was sent
    assert isinstance(CommandTimeout("x"), TimeoutError)


def test_send_async_waits_without_blocking_the_loop(
    eventstore: InMemoryEventStore, bus: CommandBus, handler: Callable[[CommandBus, Answer], None]
) -> None:
    handler(bus, executed)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async def main() -> list[UUID]:
        ticker = asyncio.create_task(tick())
        commands = [StartRecording(label=str(i)) for i in range(3)]
        await asyncio.gather(
            *(bus.send_async("cam-1", c, fire_and_forget=False, timeout=10) for c in commands)
        )
        ticker.cancel()
        return [c.id for c in commands]

    ids = asyncio.run(main())
    answered = {UUID(json.loads(e.data)["CommandId"]) for e in eventstore.events(bus.stream_out)}
    assert answered == set(ids)
    assert ticks > 3


def test_send_async_raises_the_handlers_failure(
    bus: CommandBus, handler: Callable[[CommandBus, Answer], None]
) -> None:
    handler(bus, failed)
    with pytest.raises(CommandFailed, match="camera busy: y"):
        asyncio.run(bus.send_async("cam-1", StartRecording(label="y"), False, 10))
