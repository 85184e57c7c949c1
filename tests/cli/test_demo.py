"""``plumberd demo``: works with no server running, prints the streams and the C# records."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from uuid import UUID

import pytest

from plumberd_logging import EventStoreHandler, EventStoreProcessor, EventWriter
from plumberd_logging._cli.demo import LOG_RECORDED_CSHARP, RecordingFinished, csharp_record
from plumberd_logging.testing import InMemoryEventStore

from .helpers import PASSWORD, closed_port, plumberd

CSHARP = """\
The C# records that read them (MicroPlumberd, System.Text.Json defaults):

// every body also carries "Id", the event id: add `Guid Id` to read it
public record RecordingStarted(string RecordingId, Guid CameraId);
public record CameraPrepared(Guid CameraId, double Exposure);
public record CameraMoved(Guid CameraId, int Pan);
public record RecordingFinished(string RecordingId, double Duration, string FilePath);
public record LogRecorded(string Level, string Logger, string Message, string Template,
    DateTimeOffset Timestamp, LoggedException? Exception, string? Thread, int? Process,
    string Host, string Service, string? Module, string? Function, int? Line,
    Dictionary<string, JsonElement>? Properties);
public record LoggedException(string? Type, string? Message, string? StackTrace,
    JsonElement? Chain);
"""

EVENT_LINE = re.compile(r"^  #(\d+) (\w+)  id ([0-9a-f-]{36})$")


def parse_streams(stdout: str) -> dict[str, list[dict[str, object]]]:
    """The streams part of the output: stream -> events (revision, type, id, data, metadata)."""
    streams: dict[str, list[dict[str, object]]] = {}
    lines = stdout.splitlines()
    current = ""
    for i, line in enumerate(lines):
        match = EVENT_LINE.match(line)
        if match is None:
            following = lines[i + 1] if i + 1 < len(lines) else ""
            if line and not line.startswith(" ") and EVENT_LINE.match(following):
                current = line
                streams[current] = []
            continue
        data = lines[i + 1].removeprefix("     data      ")
        metadata = lines[i + 2].removeprefix("     metadata  ")
        streams[current].append(
            {
                "revision": int(match[1]),
                "type": match[2],
                "id": match[3],
                "data": json.loads(data),
                "metadata": json.loads(metadata),
            }
        )
    return streams


def test_demo_with_no_server_running() -> None:
    done = plumberd("demo")  # no --url, no $PLUMBERD_URL: the embedded server
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    assert out.startswith("plumberd demo: no --url, so an in-process EventStoreDB/KurrentDB at ")
    assert CSHARP in out  # stable: no ids or timestamps in this part

    streams = parse_streams(out)
    camera = next(s for s in streams if s.startswith("Camera-"))
    assert UUID(camera.removeprefix("Camera-"))
    assert list(streams) == ["Recording-rec-1", camera, "Log-demo"]
    assert [e["type"] for e in streams["Recording-rec-1"]] == [
        "RecordingStarted",
        "RecordingFinished",
    ]
    assert [e["type"] for e in streams[camera]] == ["CameraPrepared", "CameraMoved"]
    [log] = streams["Log-demo"]
    assert log["type"] == "LogRecorded"
    assert isinstance(log["data"], dict)
    assert log["data"]["Message"] == "disk almost full"
    assert log["data"]["Level"] == "WARNING"
    assert log["data"]["Properties"] == {"free_gb": 3.5}

    started, finished = streams["Recording-rec-1"]
    assert finished["data"] == {
        "Id": finished["id"],
        "RecordingId": "rec-1",
        "Duration": 12.5,
        "FilePath": "/recordings/rec-1.mp4",
    }
    prepared = streams[camera][0]
    assert isinstance(prepared["metadata"], dict)
    assert isinstance(started["metadata"], dict)
    assert prepared["metadata"]["$causationId"] == started["id"]
    assert prepared["metadata"]["$correlationId"] == started["metadata"]["$correlationId"]
    assert f"its $causationId is {str(started['id'])[:8]}..., the RecordingStarted" in out
    for events in streams.values():
        for event in events:
            assert isinstance(event["data"], dict)
            assert event["data"]["Id"] == event["id"]  # the body's Id is the event id
            assert isinstance(event["metadata"], dict)
            assert set(event["metadata"]) >= {"Created", "$correlationId", "$causationId"}
    assert "plumberd serve" in out.splitlines()[-3]


def test_demo_without_structlog_skips_that_part() -> None:
    code = (
        "import sys; sys.modules['structlog'] = None  # as if not installed\n"
        "from plumberd_logging.cli import main; sys.exit(main(['demo']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (
        "  structlog  skipped: structlog is not installed "
        '(pip install "plumberd-logging[structlog]")\n'
    ) in done.stdout
    types = [e["type"] for events in parse_streams(done.stdout).values() for e in events]
    assert types == [
        "RecordingStarted",
        "RecordingFinished",
        "CameraPrepared",
        "LogRecorded",
    ]
    assert CSHARP in done.stdout


@pytest.mark.slow
def test_demo_with_url_writes_new_streams_each_run(eventstore: InMemoryEventStore) -> None:
    runs = [plumberd("demo", "--url", eventstore.url) for _ in range(2)]
    names: list[set[str]] = []
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"plumberd demo: writing new streams to {eventstore.url}")
        assert CSHARP in done.stdout
        streams = parse_streams(done.stdout)
        names.append(set(streams))
        for stream, events in streams.items():
            assert [str(e.id) for e in eventstore.events(stream)] == [e["id"] for e in events]
    assert not names[0] & names[1]  # unique per run: a real server keeps earlier runs
    assert all(re.fullmatch(r"Recording-rec-[0-9a-f]{8}", n) for n in names[0] if "Rec" in n)


def test_demo_with_an_unreachable_url() -> None:
    url = f"esdb://admin:{PASSWORD}@127.0.0.1:{closed_port()}?tls=false"
    done = plumberd("demo", "--url", url)
    assert done.returncode == 3
    assert "connection refused" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def record_parameters(record: str) -> set[str]:
    """The parameter names of a positional record in LOG_RECORDED_CSHARP."""
    found = re.search(rf"record {record}\((.*?)\);", LOG_RECORDED_CSHARP, re.S)
    assert found is not None
    plain = re.sub(r"<[^>]*>", "", found[1])  # Dictionary<string, JsonElement> -> Dictionary
    return {p.split()[-1] for p in plain.split(",")}


def test_csharp_records_match_what_is_written(eventstore: InMemoryEventStore) -> None:
    assert csharp_record(RecordingFinished) == (
        "public record RecordingFinished(string RecordingId, double Duration, string FilePath);"
    )
    names = record_parameters("LogRecorded")
    with EventWriter(eventstore.url, linger=0.001) as writer:
        handler = EventStoreHandler(writer=writer, capture_logs=True, service="svc")
        log = logging.getLogger("test.demo.records")
        log.addHandler(handler)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed", extra={"camera": 7})
        finally:
            log.removeHandler(handler)
        processor = EventStoreProcessor(writer=writer, capture_logs=True, service="svc")
        processor(None, "info", {"event": "structured", "camera": 7})
        assert writer.flush(10)
    from_logging, from_structlog = (e.json() for e in eventstore.events("Log-svc"))
    assert set(from_logging) == names | {"Id"}  # every key the handler writes, nothing else
    assert set(from_logging["Exception"]) == record_parameters("LoggedException") - {"Chain"}
    assert set(from_structlog) <= names | {"Id"}


@pytest.mark.parametrize("args", [["demo", "--help"], ["--help"]])
def test_help(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from plumberd_logging.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 0
    assert "exit codes" in capsys.readouterr().out
