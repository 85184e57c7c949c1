"""``plumberd tail STREAM``: readable blocks by default, JSON lines with --json, clear failures."""

from __future__ import annotations

import base64
import json

import pytest

from plumberd_logging import Event, EventStoreClient
from plumberd_logging.testing import InMemoryEventStore, ProposedEvent

from .conftest import Run
from .helpers import PASSWORD, closed_port, plumberd


class RecordingFinished(Event):
    recording_id: str
    duration: float


@pytest.fixture
def recorded(eventstore: InMemoryEventStore) -> list[RecordingFinished]:
    """Three events in ``Recording-rec-1``, written by the real client."""
    events = [RecordingFinished(recording_id="rec-1", duration=d) for d in (1.5, 2.5, 3.5)]
    with EventStoreClient(eventstore.url) as client:
        client.append_to_stream("Recording-rec-1", events)
    return events


def test_readable_output_one_block_per_event(
    eventstore: InMemoryEventStore, recorded: list[RecordingFinished]
) -> None:
    done = plumberd("tail", "Recording-rec-1", "--url", eventstore.url)
    assert done.returncode == 0, done.stderr
    stored = eventstore.events("Recording-rec-1")
    lines = done.stdout.splitlines()
    assert len(lines) == 6
    for i, event in enumerate(stored):
        created = event.metadata_json()["Created"]
        assert lines[2 * i] == f"#{i}  RecordingFinished  {event.id}  {created}"
        assert lines[2 * i + 1] == "    " + event.data.decode()  # the JSON exactly as stored
    assert '"RecordingId":"rec-1","Duration":1.5' in lines[1]


def test_limit_shows_the_last_events_and_says_so(
    eventstore: InMemoryEventStore, recorded: list[RecordingFinished], run: Run
) -> None:
    done = run("tail", "Recording-rec-1", "--url", eventstore.url, "--limit", "2")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[0:4:2]] == ["#1", "#2"]
    assert lines[-1] == "(earlier events not shown: --limit N for more, --limit 0 for all)"


def test_json_one_object_per_line(
    eventstore: InMemoryEventStore, recorded: list[RecordingFinished]
) -> None:
    done = plumberd(
        "tail", "Recording-rec-1", "--json", "--limit", "0", env={"PLUMBERD_URL": eventstore.url}
    )
    assert done.returncode == 0, done.stderr
    items = [json.loads(line) for line in done.stdout.splitlines()]
    stored = eventstore.events("Recording-rec-1")
    assert [item["revision"] for item in items] == [0, 1, 2]
    for item, event, sent in zip(items, stored, recorded, strict=True):
        assert set(item) == {"stream", "type", "id", "revision", "position", "data", "metadata"}
        assert item["stream"] == "Recording-rec-1"
        assert item["type"] == "RecordingFinished"
        assert item["id"] == str(sent.id) == str(event.id)
        assert item["position"] == event.commit_position
        assert item["data"] == {
            "Id": str(sent.id),
            "RecordingId": "rec-1",
            "Duration": sent.duration,
        }
        assert item["metadata"] == event.metadata_json()


def test_a_body_that_is_not_json(eventstore: InMemoryEventStore, run: Run) -> None:
    eventstore.append(
        "Blob-1",
        [ProposedEvent("Thumbnail", b"\x89PNG", content_type="application/octet-stream")],
    )
    readable = run("tail", "Blob-1", "--url", eventstore.url)
    assert readable.stdout.splitlines()[1] == "    (4 bytes of application/octet-stream)"
    [item] = [json.loads(run("tail", "Blob-1", "--url", eventstore.url, "--json").stdout)]
    assert item["data"] is None
    assert base64.b64decode(item["data_base64"]) == b"\x89PNG"


def test_stream_not_found_has_its_own_exit_code(eventstore: InMemoryEventStore) -> None:
    url = f"esdb://admin:{PASSWORD}@127.0.0.1:{eventstore.port}?tls=false"
    done = plumberd("tail", "Nope-1", "--url", url)
    assert done.returncode == 6
    assert "plumberd tail: stream 'Nope-1' not found" in done.stderr
    assert f"esdb://admin:***@127.0.0.1:{eventstore.port}" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert done.stdout == ""


def test_unreachable_server_and_usage_errors(run: Run) -> None:
    url = f"esdb://admin:{PASSWORD}@127.0.0.1:{closed_port()}?tls=false"
    done = run("tail", "Recording-rec-1", "--url", url, "--timeout", "2")
    assert done.returncode == 3
    assert "cannot reach the server" in done.stderr
    assert "Traceback" not in done.stderr
    assert PASSWORD not in done.stdout + done.stderr

    assert run("tail", "Recording-rec-1").returncode == 2  # no --url, no $PLUMBERD_URL
    done = run("tail", "Recording-rec-1", "--url", "esdb://x:2113?tls=false", "-n", "-1")
    assert done.returncode == 2
    assert "--limit: expected 0 or more" in done.stderr
