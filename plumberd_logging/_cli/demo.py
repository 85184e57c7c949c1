"""``plumberd demo``: see plumberd-logging work in one command, with no server to install.

    plumberd demo                                        # an embedded in-process server
    plumberd demo --url 'esdb://localhost:2113?tls=false'  # a real one (new streams each run)

It writes events through the three entry points, then prints what was stored the way a C#
reader sees it (stream, type, event id, data and metadata JSON) and the C# records that read it:

* ``@emits``: ``start_recording()`` emits ``RecordingStarted``; inside it ``prepare_camera()``
  emits ``CameraPrepared``, whose ``$causationId`` is the ``RecordingStarted`` event's id (same
  ``$correlationId``);
* structlog: ``log.info("camera moved", domain_event=CameraMoved(...))`` through
  :class:`~plumberd_logging.EventStoreProcessor` (skipped, with a note, without structlog);
* stdlib logging: a record tagged ``extra={"event": RecordingFinished(...)}`` and, with
  ``capture_logs=True``, a plain warning as a ``LogRecorded`` event in ``Log-{service}``.

The C# records are what :func:`plumberd_logging.csharp.render` (``plumberd csharp``) gives for
these classes, with ``LogRecorded`` (the body of captured log lines). Without ``--url`` the
server lives in this process and is gone when the demo ends.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from uuid import UUID

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    add_timeout,
    command,
    diagnose,
    exit_codes_help,
    open_client,
    quiet_grpc,
    server_url,
    shown,
)
from plumberd_logging.csharp import render
from plumberd_logging.errors import PlumberdError
from plumberd_logging.events import Event

if TYPE_CHECKING:
    from plumberd_logging.client import RecordedEvent
    from plumberd_logging.writer import EventWriter

__all__ = [
    "CameraMoved",
    "CameraPrepared",
    "RecordingFinished",
    "RecordingStarted",
    "add_parser",
    "demo",
]


class RecordingStarted(Event, category="Recording", stream_id_field="recording_id"):
    recording_id: str
    camera_id: UUID


class CameraPrepared(Event, category="Camera", stream_id_field="camera_id"):
    camera_id: UUID
    exposure: float


class CameraMoved(Event, category="Camera", stream_id_field="camera_id"):
    camera_id: UUID
    pan: int


class RecordingFinished(Event, category="Recording", stream_id_field="recording_id"):
    recording_id: str
    duration: float
    file_path: str


EVENTS = (RecordingStarted, CameraPrepared, CameraMoved, RecordingFinished)
#: The C# namespace of the printed records (``[OutputStream]`` keeps each class's category).
NAMESPACE = "Demo.Events"

EPILOG = f"""examples:
  plumberd demo                                          # nothing to install or run first
  plumberd demo --url 'esdb://localhost:2113?tls=false'    # a real EventStoreDB/KurrentDB

{
    exit_codes_help(
        Exit.OK,
        Exit.FAILURE,
        Exit.USAGE,
        Exit.UNREACHABLE,
        Exit.TIMEOUT,
        Exit.SERVER_ERROR,
        notes={
            Exit.FAILURE: "an event was not written or read back as expected",
            Exit.TIMEOUT: "--url: the server did not answer, or did not confirm the events, "
            "in time",
        },
    )
}"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help="see it work: events from logging, structlog and @emits, as C# reads them",
        description=(
            "Write events through the stdlib logging handler, the structlog processor and "
            "@emits, then print the streams as a C# MicroPlumberd reader sees them (type, "
            "event id, data and metadata JSON) and the C# records that read them. Without "
            "--url it runs an in-process EventStoreDB/KurrentDB, so nothing needs installing "
            "or running first; with --url it writes new streams (unique names) to that server."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--url", help="a real server to write to (default: an embedded one)")
    add_timeout(p, 10.0, "how long to wait for the server")
    p.set_defaults(handler=demo)


@command("demo")
def demo(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise CommandError(Exit.USAGE, f"--timeout: expected seconds > 0, got {args.timeout}")
    quiet_grpc()
    with _server(args.url, args.timeout) as url:
        run = uuid.uuid4().hex[:8] if args.url else None
        names = _Names(
            recording_id=f"rec-{run}" if run else "rec-1",
            camera_id=uuid.uuid4(),
            service=f"demo-{run}" if run else "demo",
        )
        lines = _write_events(url, names, args.timeout)
        print("\nWritten through the three entry points:")
        for line in lines:
            print(f"  {line}")
        streams = [
            f"Recording-{names.recording_id}",
            f"Camera-{names.camera_id}",
            f"Log-{names.service}",
        ]
        events = _read(url, streams, args.timeout)
    _print_streams(events)
    _print_correlation(events)
    _print_records()
    print("\nNext:")
    print("  plumberd serve                   a local server for your own code (port 2113)")
    print("  plumberd tail STREAM --url URL   the last events of a stream")
    print("  plumberd check URL               can this machine write to that server?")
    return Exit.OK


@dataclasses.dataclass(frozen=True)
class _Names:
    recording_id: str
    camera_id: UUID
    service: str


@contextmanager
def _server(url: str | None, timeout: float) -> Iterator[str]:
    if url is not None:
        url = server_url(url)
        from plumberd_logging._cli.check import preflight

        preflight(url, timeout)
        print(f"plumberd demo: writing new streams to {shown(url)}")
        yield url
        return
    from plumberd_logging.testing import InMemoryEventStore

    with InMemoryEventStore() as store:
        print(f"plumberd demo: no --url, so an in-process EventStoreDB/KurrentDB at {store.url}")
        yield store.url


def _write_events(url: str, names: _Names, timeout: float) -> list[str]:
    """Run the three entry points; return what ran, as lines to print."""
    from plumberd_logging.writer import EventWriter

    writer = EventWriter(url, linger=0.01, close_timeout=timeout)
    try:
        lines = _emits_example(writer, names)
        lines += _structlog_example(writer, names)
        lines += _logging_example(writer, names)
        if not writer.flush(timeout):
            raise CommandError(
                Exit.TIMEOUT, f"the server did not confirm the events in {timeout:g}s"
            )
        stats = writer.stats()
        if stats.dead_lettered or stats.dropped:
            raise CommandError(Exit.FAILURE, f"some events were not written ({stats.last_error})")
    finally:
        writer.close(timeout)
    return lines


def _emits_example(writer: EventWriter, names: _Names) -> list[str]:
    from plumberd_logging.emits import emits

    @emits(CameraPrepared, writer=writer)
    def prepare_camera(camera_id: UUID) -> dict[str, float]:
        return {"exposure": 0.25}  # the returned mapping fills the remaining field

    @emits(RecordingStarted, writer=writer)  # stream: Recording-{recording_id}
    def start_recording(recording_id: str, camera_id: UUID) -> None:
        prepare_camera(camera_id)  # nested: its event is caused by RecordingStarted

    start_recording(names.recording_id, names.camera_id)
    return [
        f'@emits     start_recording("{names.recording_id}", camera_id) -> RecordingStarted,',
        "           and inside it prepare_camera(camera_id) -> CameraPrepared",
    ]


def _structlog_example(writer: EventWriter, names: _Names) -> list[str]:
    try:
        import structlog
    except ImportError:
        return [
            "structlog  skipped: structlog is not installed "
            '(pip install "plumberd-logging[structlog]")'
        ]
    from plumberd_logging.structlog import EventStoreProcessor

    log = structlog.wrap_logger(
        structlog.ReturnLogger(),  # the demo prints nothing itself; your renderer would
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            EventStoreProcessor(writer=writer),
            structlog.processors.KeyValueRenderer(),
        ],
    )
    log.info("camera moved", domain_event=CameraMoved(camera_id=names.camera_id, pan=15))
    return ['structlog  log.info("camera moved", domain_event=CameraMoved(camera_id=..., pan=15))']


def _logging_example(writer: EventWriter, names: _Names) -> list[str]:
    from plumberd_logging.handler import EventStoreHandler

    handler = EventStoreHandler(writer=writer, capture_logs=True, service=names.service)
    log = logging.getLogger("demo.recorder")
    saved = (log.level, log.propagate)
    log.setLevel(logging.INFO)
    log.propagate = False  # the demo leaves your logging configuration alone
    log.addHandler(handler)
    try:
        finished = RecordingFinished(
            recording_id=names.recording_id,
            duration=12.5,
            file_path=f"/recordings/{names.recording_id}.mp4",
        )
        log.info("recording finished", extra={"event": finished})
        log.warning("disk almost full", extra={"free_gb": 3.5})
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]
        handler.close()
    return [
        'logging    log.info("recording finished", extra={"event": RecordingFinished(...)})',
        '           log.warning("disk almost full", extra={"free_gb": 3.5})',
        f"           -> LogRecorded in Log-{names.service} (capture_logs=True)",
    ]


def _read(url: str, streams: list[str], timeout: float) -> list[RecordedEvent]:
    events: list[RecordedEvent] = []
    with open_client(url, timeout=timeout) as client:
        for stream in streams:
            try:
                events += client.read_stream(stream)
            except PlumberdError as exc:
                raise diagnose(exc, what=f"reading {stream}", timeout=timeout) from None
    return events


def _print_streams(events: list[RecordedEvent]) -> None:
    print("\nThe streams, as a C# reader sees them (stream, type, event id, data, metadata):")
    stream = None
    for e in events:
        if e.stream != stream:
            stream = e.stream
            print(f"\n{stream}")
        print(f"  #{e.revision} {e.type}  id {e.id}")
        print(f"     data      {e.raw_data.decode('utf-8', 'replace')}")
        print(f"     metadata  {e.raw_metadata.decode('utf-8', 'replace')}")


def _print_correlation(events: list[RecordedEvent]) -> None:
    by_type = {e.type: e for e in events}
    started, prepared = by_type.get("RecordingStarted"), by_type.get("CameraPrepared")
    if started is None or prepared is None:
        raise CommandError(Exit.FAILURE, "the @emits events were not read back")
    cause = prepared.metadata.get("$causationId")
    chain = prepared.metadata.get("$correlationId")
    if cause != str(started.id) or chain != started.metadata.get("$correlationId"):
        raise CommandError(Exit.FAILURE, "CameraPrepared is not linked to RecordingStarted")
    print(
        f"\nCameraPrepared was caused by RecordingStarted: its $causationId is "
        f"{str(started.id)[:8]}..., the RecordingStarted event id,\nand both share "
        f"$correlationId {str(chain)[:8]}... (a C# handler continuing the chain does the same)."
    )


def _print_records() -> None:
    print("\nThe C# records that read them (MicroPlumberd, System.Text.Json defaults):\n")
    print(render(EVENTS, namespace=NAMESPACE, log_records=True), end="")
