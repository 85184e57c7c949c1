"""@emits: decoration-time errors, on_error events, and failures that never reach the caller."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypedDict

import pytest

from plumberd_logging import Event, EventWriter, QueueFull, emits
from plumberd_logging.emits import emit_failures, emitter_of
from plumberd_logging.testing import InMemoryEventStore

from .emits_events import Note, RecordingFailed, RecordingFinished, body, stored

# -- decoration time ---------------------------------------------------------------------------


class Partial(TypedDict):
    duration: float


def test_generators_are_refused() -> None:
    def gen() -> Iterator[int]:
        yield 1

    async def agen() -> AsyncIterator[int]:
        yield 1

    for fn in (gen, agen):
        with pytest.raises(TypeError, match="is a generator"):
            emits(Note, "Notes")(fn)


def test_required_fields_the_signature_cannot_supply_are_named() -> None:
    def finish(recording_id: str) -> None:
        pass

    with pytest.raises(TypeError, match=r"required field\(s\) duration, file_path of Recording"):
        emits(RecordingFinished)(finish)

    def finish_typed(recording_id: str) -> Partial:
        return {"duration": 1.0}

    with pytest.raises(TypeError, match=r"field\(s\) file_path of"):
        emits(RecordingFinished)(finish_typed)


def test_required_fields_are_left_to_call_time_when_the_signature_cannot_tell() -> None:
    def unannotated(recording_id):  # type: ignore[no-untyped-def]
        return {}

    def returns_dict(recording_id: str) -> dict[str, Any]:
        return {}

    def takes_kwargs(**kwargs: Any) -> None:
        pass

    for fn in (unannotated, returns_dict, takes_kwargs):
        emits(RecordingFinished)(fn)
    emits(RecordingFinished, fields=lambda a, r: {})(lambda: None)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"stream": "Recording-{nope}"}, TypeError, "names nope, which is neither a field"),
        ({"stream": "Recording-{duration:.1f}"}, ValueError, "format spec"),
        ({"stream": "Recording-{a.b}"}, ValueError, "plain field or parameter name"),
        ({"stream": "-{recording_id}"}, ValueError, "category: must not be empty"),
        ({"stream": "Recording-{"}, ValueError, "stream template"),
        ({"stream": " Notes"}, ValueError, "surrounding spaces"),
        ({"stream": 42}, TypeError, "stream=... expected a str"),
        ({"on_error": Note}, TypeError, "declares none of error_type, error_message"),
        ({"on_error": "Failed"}, TypeError, "emits(on_error=...): expected an event class"),
        ({"writer": "esdb://x"}, TypeError, "emits(writer=...): expected an EventWriter"),
        ({"fields": {"a": 1}}, TypeError, "emits(fields=...): expected a callable"),
    ],
)
def test_bad_options_fail_when_decorating(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    def finish(recording_id: str, duration: float, file_path: str) -> None:
        pass

    with pytest.raises(error, match=re.escape(message)):
        emits(RecordingFinished, **kwargs)(finish)


def test_a_class_without_stream_rule_needs_a_stream() -> None:
    with pytest.raises(TypeError, match="Note has no stream rule; pass stream="):
        emits(Note)(lambda text: None)


def test_misplaced_and_wrong_targets() -> None:
    with pytest.raises(TypeError, match="apply @emits below @classmethod"):
        emits(Note, "Notes")(classmethod(lambda cls, text: None))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="expected an event class"):
        emits("Note", "Notes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_error=RecordingFinished declares none of error_type"):
        emits(Note, "Notes", on_error=RecordingFinished)(lambda text: None)


# -- on_error ----------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_on_error_emits_the_error_event_and_reraises_the_same_exception(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    raised = Boom("disk full")

    @emits(RecordingFinished, "Recording-{recording_id}", on_error=RecordingFailed, writer=writer)
    def finish(recording_id: str, duration: float, file_path: str) -> None:
        raise raised

    with pytest.raises(Boom) as info:
        finish("rec-1", 1.0, "/r/rec-1.mp4")
    assert info.value is raised
    [event] = stored(eventstore, writer, "Recording-rec-1")
    assert event.type == "RecordingFailed"
    assert body(event) == {
        "Id": str(event.id),
        "RecordingId": "rec-1",
        "ErrorType": "Boom",
        "ErrorMessage": "disk full",
    }


def test_on_error_with_a_traceback_and_an_async_function(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    class Crashed(Event):
        error_type: str
        error_traceback: str

    @emits(Note, "Notes", on_error=Crashed, writer=writer)
    async def note(text: str) -> None:
        raise KeyError(text)

    with pytest.raises(KeyError):
        asyncio.run(note("missing"))
    [event] = stored(eventstore, writer, "Notes")  # the same stream spec
    assert body(event)["ErrorType"] == "KeyError"
    assert "in note" in body(event)["ErrorTraceback"]
    assert "KeyError: 'missing'" in body(event)["ErrorTraceback"]


def test_base_exceptions_emit_nothing(eventstore: InMemoryEventStore, writer: EventWriter) -> None:
    @emits(Note, "Notes", on_error=RecordingFailed, writer=writer)
    def note(text: str, recording_id: str = "r") -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        note("x")
    assert stored(eventstore, writer, "Notes") == []


def test_without_on_error_a_failing_call_emits_nothing(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    @emits(Note, "Notes", writer=writer)
    def note(text: str) -> None:
        raise Boom(text)

    with pytest.raises(Boom):
        note("x")
    assert stored(eventstore, writer, "Notes") == []


# -- failures never reach the caller -----------------------------------------------------------


def test_missing_fields_at_call_time_are_reported_and_counted(
    eventstore: InMemoryEventStore, writer: EventWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    @emits(RecordingFinished, writer=writer)
    def finish(recording_id: str) -> dict[str, Any]:
        return {"duration": 1.0}

    before = emit_failures().get("build", 0)
    assert finish("rec-1") == {"duration": 1.0}
    err = capsys.readouterr().err
    assert "finish()" in err
    assert "no value for required field(s) file_path" in err
    assert emitter_of(finish).failures == {"build": 1}
    assert emit_failures()["build"] == before + 1
    assert stored(eventstore, writer, "Recording-rec-1") == []


def test_unknown_fields_and_a_raising_fields_callable_are_reported(
    writer: EventWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    @emits(Note, "Notes", writer=writer)
    def typo(text: str) -> dict[str, str]:
        return {"txet": text}

    @emits(Note, "Notes", writer=writer, fields=lambda a, r: {"text": r["missing"]})
    def broken() -> dict[str, str]:
        return {}

    assert typo("x") == {"txet": "x"}
    assert "unknown field(s) txet" in capsys.readouterr().err
    assert broken() == {}
    assert "KeyError" in capsys.readouterr().err
    assert emitter_of(typo).failures == emitter_of(broken).failures == {"build": 1}


def test_a_stream_that_cannot_be_named_is_reported(
    writer: EventWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    @emits(Note, "Note-{who}", writer=writer)
    def note(text: str, who: object) -> None:
        pass

    note("x", who=3.5)
    assert "{who} is a float" in capsys.readouterr().err
    assert emitter_of(note).failures == {"stream": 1}


def test_no_writer_configured_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    @emits(Note, "Notes")
    def note(text: str) -> str:
        return text

    assert note("x") == "x"
    assert "call plumberd_logging.configure(url)" in capsys.readouterr().err
    assert emitter_of(note).failures == {"no_writer": 1}


def test_a_closed_writer_is_reported_not_raised(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = EventWriter(eventstore.url)
    writer.close()

    @emits(Note, "Notes", writer=writer)
    def note(text: str) -> str:
        return text

    assert note("x") == "x"
    assert "WriterClosed" in capsys.readouterr().err
    assert emitter_of(note).failures == {"submit": 1}


def test_queue_full_reaches_the_caller_except_while_an_exception_propagates(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    hang = eventstore.faults.hang("BatchAppend")  # the first event stays in flight
    writer = EventWriter(eventstore.url, max_queue_events=1, block_timeout=0, linger=0)
    try:

        @emits(Note, "Notes", writer=writer, on_error=RecordingFailed)
        def note(text: str, recording_id: str = "r", fail: bool = False) -> None:
            if fail:
                raise Boom(text)

        note("first")
        with pytest.raises(QueueFull):
            note("second")
        with pytest.raises(Boom):  # the caller's exception, not QueueFull
            note("third", fail=True)
        assert "queue stayed full" in capsys.readouterr().err
        assert emitter_of(note).failures == {"submit": 1}
    finally:
        hang.cancel()
        writer.close()
    assert [body(e)["Text"] for e in eventstore.events("Notes")] == ["first"]


def test_required_fields_of_the_error_event_are_checked_when_decorating() -> None:
    class Failed(Event):
        error_message: str
        operator: str

    with pytest.raises(TypeError, match=r"field\(s\) operator of Failed: they are neither"):
        emits(Note, "Notes", on_error=Failed)(lambda text: None)
    emits(Note, "Notes", on_error=Failed)(lambda text, operator: None)


def test_events_the_writer_rejects_are_counted_in_failures(
    eventstore: InMemoryEventStore,
) -> None:
    """The README says failures are counted in emitter_of(f).failures: writer-side ones too."""
    writer = EventWriter(eventstore.url, max_append_size=2000, max_batch_bytes=1000)

    @emits(Note, "Notes", writer=writer)
    def note(text: str) -> str:
        return text

    before = emit_failures().get("too_large", 0)
    note("x" * 5000)
    note("fits")
    assert writer.flush(10)
    assert emitter_of(note).failures == {"too_large": 1}
    assert emit_failures()["too_large"] == before + 1
    assert [body(e)["Text"] for e in eventstore.events("Notes")] == ["fits"]
    writer.close()
