"""@emits on sync and async functions and methods: fields, streams, return values, writers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

import pytest

from plumberd_logging import Event, EventWriter, StreamName, current_context, emits
from plumberd_logging.testing import InMemoryEventStore

from .emits_events import CameraMoved, Note, RecordingFinished, body, stored

G1_DATA = {"RecordingId": "rec-1", "Duration": 12.5, "FilePath": "/r/rec-1.mp4"}


def test_sync_function_emits_from_its_arguments(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(RecordingFinished, writer=writer)
    def finish(recording_id: str, duration: float, file_path: str) -> str:
        return f"done {recording_id}"

    assert finish("rec-1", 12.5, file_path="/r/rec-1.mp4") == "done rec-1"
    [event] = stored(eventstore, writer, "Recording-rec-1")  # the class's stream rule
    assert event.type == "RecordingFinished"
    assert body(event) == {"Id": str(event.id), **G1_DATA}


def test_async_function_emits_when_awaited(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(RecordingFinished, writer=writer)
    async def finish(recording_id: str, duration: float, file_path: str) -> int:
        await asyncio.sleep(0)
        return 7

    coro = finish("rec-1", 12.5, "/r/rec-1.mp4")
    assert writer.flush(5)
    assert eventstore.events("Recording-rec-1") == []  # nothing until the call runs
    assert asyncio.run(coro) == 7
    [event] = stored(eventstore, writer, "Recording-rec-1")
    assert body(event) == {"Id": str(event.id), **G1_DATA}


def test_methods_bind_arguments_after_self(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.file_path = "/r/rec-1.mp4"

        @emits(RecordingFinished, writer=writer)
        def finish(self, recording_id: str, duration: float) -> dict[str, str]:
            return {"file_path": self.file_path}

        @classmethod
        @emits(Note, "Notes", writer=writer)
        def announce(cls, text: str) -> None:
            pass

        @staticmethod
        @emits(Note, "Notes", writer=writer)
        def log(text: str) -> None:
            pass

        @emits(Note, "Notes", writer=writer)
        async def later(self, text: str) -> None:
            pass

    recorder = Recorder()
    recorder.finish("rec-1", duration=12.5)
    Recorder.announce("class")
    recorder.log("static")
    asyncio.run(recorder.later("async method"))
    [event] = stored(eventstore, writer, "Recording-rec-1")
    assert body(event) == {"Id": str(event.id), **G1_DATA}
    texts = [body(e)["Text"] for e in eventstore.events("Notes")]
    assert texts == ["class", "static", "async method"]


def test_defaults_keyword_only_and_kwargs_parameters_fill_fields(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(RecordingFinished, writer=writer)
    def finish(recording_id: str, *, duration: float = 1.0, **extra: Any) -> None:
        pass

    finish("rec-1", file_path="/r/rec-1.mp4")  # file_path only through **extra
    [event] = stored(eventstore, writer, "Recording-rec-1")
    assert body(event)["Duration"] == 1.0
    assert body(event)["FilePath"] == "/r/rec-1.mp4"


def test_a_returned_mapping_fills_and_overrides_fields(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(RecordingFinished, writer=writer)
    def finish(recording_id: str, duration: float) -> Mapping[str, Any]:
        return {"duration": duration * 2, "file_path": f"/r/{recording_id}.mp4"}

    result = finish("rec-1", 6.25)
    assert result == {"duration": 12.5, "file_path": "/r/rec-1.mp4"}  # returned unchanged
    [event] = stored(eventstore, writer, "Recording-rec-1")
    assert body(event) == {"Id": str(event.id), **G1_DATA}


def test_a_returned_event_is_emitted_as_is_with_the_reserved_id(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    seen: list[UUID] = []

    @emits(RecordingFinished, writer=writer)
    def finish(path: str) -> RecordingFinished:
        ctx = current_context()
        assert ctx is not None
        seen.append(ctx.causation_id)  # the id reserved for this call's event
        return RecordingFinished(recording_id="rec-1", duration=12.5, file_path=path)

    event = finish("/r/rec-1.mp4")
    [stored_event] = stored(eventstore, writer, "Recording-rec-1")
    assert stored_event.id == event.id == seen[0]  # the caller sees the id that was written
    assert body(stored_event) == {"Id": str(event.id), **G1_DATA}


def test_fields_callable_sees_bound_arguments_and_result(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    calls: list[tuple[dict[str, Any], Any]] = []

    def fields(args: Mapping[str, Any], result: Any) -> dict[str, Any]:
        calls.append((dict(args), result))
        return {"recording_id": args["rid"], "duration": result, "file_path": args["path"]}

    @emits(RecordingFinished, writer=writer, fields=fields)
    def finish(rid: str, path: str = "/r/rec-1.mp4", *rest: int, **opts: str) -> float:
        return 12.5

    assert finish("rec-1") == 12.5
    [event] = stored(eventstore, writer, "Recording-rec-1")
    assert body(event) == {"Id": str(event.id), **G1_DATA}
    assert calls == [({"rid": "rec-1", "path": "/r/rec-1.mp4", "rest": (), "opts": {}}, 12.5)]


def test_a_parameter_named_id_is_not_the_event_id(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    camera = uuid4()

    @emits(CameraMoved, "Camera-{id}", writer=writer)
    def move(id: UUID, pan: int) -> dict[str, UUID]:
        return {"camera_id": id}

    move(camera, 30)
    [event] = stored(eventstore, writer, f"Camera-{camera}")
    assert event.id != camera
    assert body(event) == {"Id": str(event.id), "CameraId": str(camera), "Pan": 30}


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("Recordings", "Recordings"),
        (StreamName("Recording", "x-1"), "Recording-x-1"),
        ("Site-{site}-{recording_id}", "Site-north-rec-1"),  # a parameter and a field
        ("Recording-{file_path}", "Recording-/r/rec-1.mp4"),  # a field from the returned dict
        (lambda e: f"Recording-{e.duration:g}", "Recording-12.5"),
        ("Literal-{{braces}}", "Literal-{braces}"),
    ],
    ids=["name", "StreamName", "template", "template-returned", "callable", "escaped"],
)
def test_stream_specs(
    eventstore: InMemoryEventStore, writer: EventWriter, stream: Any, expected: str
) -> None:
    @emits(RecordingFinished, stream, writer=writer)
    def finish(site: str, recording_id: str, duration: float) -> dict[str, str]:
        return {"file_path": "/r/rec-1.mp4"}

    finish("north", "rec-1", 12.5)
    assert [e.type for e in stored(eventstore, writer, expected)] == ["RecordingFinished"]


def test_template_guids_are_written_like_csharp(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    camera = uuid4()

    @emits(CameraMoved, "Camera-{camera_id}", writer=writer)
    def move(camera_id: UUID | str) -> None:
        pass

    move(camera)
    move(str(camera).upper())
    assert len(stored(eventstore, writer, f"Camera-{camera}")) == 2


def test_the_default_writer_is_looked_up_at_call_time(eventstore: InMemoryEventStore) -> None:
    @emits(Note, "Notes")  # decorated before anything is configured
    def note(text: str) -> None:
        pass

    from plumberd_logging import configure
    from plumberd_logging.config import reset_default_writer

    writer = configure(eventstore.url, linger=0.005)
    try:
        note("hello")
        assert [body(e)["Text"] for e in stored(eventstore, writer, "Notes")] == ["hello"]
    finally:
        reset_default_writer()


def test_one_emitted_event_per_call_under_threads(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    @emits(Note, "Notes", writer=writer)
    def note(text: str) -> str:
        return text

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(note, [str(i) for i in range(200)]))
    assert results == [str(i) for i in range(200)]
    events = stored(eventstore, writer, "Notes")
    assert sorted(int(body(e)["Text"]) for e in events) == list(range(200))
    assert len({e.id for e in events}) == 200


def test_class_rules_without_id_field_and_returned_subclasses(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    class Audit(Event, category="Audit"):
        text: str

    class SecurityAudit(Audit, category="Security"):
        pass

    @emits(Audit, writer=writer)
    def audit(text: str) -> Audit | None:
        return SecurityAudit(text=text) if text == "intrusion" else None

    audit("login")
    audit("intrusion")
    assert [body(e)["Text"] for e in stored(eventstore, writer, "Audit")] == ["login"]
    [security] = eventstore.events("Security")
    assert security.type == "SecurityAudit"
