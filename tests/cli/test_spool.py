"""``plumberd spool status|replay|export|purge`` on spools left by real writers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plumberd_logging import Event, EventWriter
from plumberd_logging.errors import WrongExpectedVersion
from plumberd_logging.testing import InMemoryEventStore, ProposedEvent

from .conftest import Run
from .helpers import plumberd, spool_writer

PENDING = 300


class Ping(Event):
    n: int


@pytest.fixture(scope="module")
def killed_writer_spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spool whose writer was SIGKILLed while the server was down: PENDING events never sent,
    plus one dead letter (an event the server refused for good, from an earlier writer).
    Made once; each test gets a copy (``orphaned``)."""
    spool = tmp_path_factory.mktemp("killed") / "spool"
    with InMemoryEventStore() as server:
        server.append("Order-1", [ProposedEvent("OrderPlaced"), ProposedEvent("OrderPaid")])
        with EventWriter(server.url, spool_path=spool, linger=0.01) as writer:
            refused = writer.submit("Order-1", Ping(n=-1), expected_position=0).exception(10)
            assert isinstance(refused, WrongExpectedVersion)
        server.stop()
        child = spool_writer(server.url, spool, PENDING)  # adopts the earlier writer's file
        child.kill()
        child.wait(10)
    return spool


@pytest.fixture
def orphaned(killed_writer_spool: Path, tmp_path: Path) -> Path:
    """A copy of the killed writer's spool (files as SIGKILL left them: -wal, -shm, .lock)."""
    return Path(shutil.copytree(killed_writer_spool, tmp_path / "spool"))


@pytest.fixture
def live_writer(eventstore: InMemoryEventStore, tmp_path: Path) -> Iterator[Path]:
    """A spool whose writer is running (and cannot deliver: the server is down)."""
    spool = tmp_path / "live"
    eventstore.stop()
    child = spool_writer(eventstore.url, spool, 5)
    try:
        yield spool
    finally:
        child.kill()
        child.wait(10)


def spool_files(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.glob("spool-*.sqlite3"))


def test_status_of_a_killed_writers_spool(orphaned: Path) -> None:
    done = plumberd("spool", "status", str(orphaned))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"spool {orphaned}"
    assert lines[1] == "  files           1 (0 live, 1 orphaned)"
    assert lines[2].startswith(f"  pending events  {PENDING} (")
    assert lines[3] == "  dead letters    1"
    assert lines[4].startswith("  oldest event    ") and lines[4].endswith(" ago")
    [name] = spool_files(orphaned)
    assert lines[5].startswith(f"  {name}  orphaned  {PENDING} events (")
    assert lines[6] == (
        f"orphaned events wait for the next writer on this spool, or: "
        f"plumberd spool replay {orphaned} --url URL"
    )


def test_status_as_json(orphaned: Path, run: Run) -> None:
    [name] = spool_files(orphaned)
    summary = json.loads(run("spool", "status", str(orphaned), "--json").stdout)
    assert summary["files"] == summary["orphaned_files"] == 1
    assert summary["live_files"] == 0
    assert summary["pending_events"] == summary["orphaned_events"] == PENDING
    assert summary["dead_letters"] == 1
    assert summary["pending_bytes"] > PENDING * 50
    assert summary["oldest_age_seconds"] >= 0
    [entry] = summary["file_list"]
    assert entry["file"] == name
    assert entry["live"] is False
    assert entry["pid"] == int(name.split("-")[1])


def test_export_prints_the_pending_events_as_json_lines(orphaned: Path) -> None:
    done = plumberd("spool", "export", str(orphaned))
    assert done.returncode == 0, done.stderr
    items = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(items) == PENDING
    assert [item["data"]["N"] for item in items] == list(range(PENDING))  # oldest first
    for item in items:
        assert item["status"] == "pending"
        assert item["stream"] == "Ping-1"
        assert item["type"] == "Ping"
        assert item["expected"] == "any"
        assert item["data"]["Id"] == item["id"]
        assert item["metadata"]["$correlationId"] == item["id"]  # decoded, not a string
        assert item["spooled_at"].endswith("Z")
    assert len({item["id"] for item in items}) == PENDING
    assert done.stderr == f"exported {PENDING} pending events\n"


def test_export_with_dead_letters_to_a_file(orphaned: Path, tmp_path: Path, run: Run) -> None:
    out = tmp_path / "export.jsonl"
    done = run("spool", "export", str(orphaned), "--dead-letters", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"exported {PENDING} pending events and 1 dead letter to {out}\n"
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(items) == PENDING + 1
    dead = items[-1]
    assert dead["status"] == "dead_letter"
    assert dead["stream"] == "Order-1"
    assert dead["expected"] == 0
    assert dead["data"]["N"] == -1
    assert dead["reason"].startswith("wrong_expected_version: stream 'Order-1' is at revision 1")
    assert dead["failed_at"].endswith("Z")


@pytest.mark.slow
def test_replay_delivers_each_orphaned_event_once_in_order(
    eventstore: InMemoryEventStore, orphaned: Path
) -> None:
    exported = [
        json.loads(line)["id"]
        for line in plumberd("spool", "export", str(orphaned)).stdout.splitlines()
    ]
    done = plumberd("spool", "replay", str(orphaned), "--url", eventstore.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"replaying {PENDING} events from 1 orphaned file to {eventstore.url}",
        f"delivered {PENDING} events",
    ]
    stored = eventstore.events("Ping-1")
    assert [str(e.id) for e in stored] == exported
    assert [e.json()["N"] for e in stored] == list(range(PENDING))

    after = json.loads(plumberd("spool", "status", str(orphaned), "--json").stdout)
    assert after["pending_events"] == 0
    assert after["dead_letters"] == 1  # kept for export; the emptied files are removed
    assert after["files"] == 1

    again = plumberd("spool", "replay", str(orphaned), "--url", eventstore.url)
    assert again.returncode == 0
    assert again.stdout == f"nothing to replay: no orphaned events in {orphaned}\n"
    assert len(eventstore.events("Ping-1")) == PENDING


def test_replay_to_a_server_that_is_down_keeps_everything(
    eventstore: InMemoryEventStore, orphaned: Path, run: Run
) -> None:
    eventstore.stop()
    done = run("spool", "replay", str(orphaned), "--url", eventstore.url)
    assert done.returncode == 3
    assert "connection refused" in done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(run("spool", "status", str(orphaned), "--json").stdout)
    assert summary["pending_events"] == PENDING


def test_replay_of_events_the_server_refuses_keeps_them_as_dead_letters(
    eventstore: InMemoryEventStore, tmp_path: Path, run: Run
) -> None:
    spool = tmp_path / "spool"
    eventstore.append("Order-7", [ProposedEvent("OrderPlaced")])
    url = eventstore.url
    eventstore.stop()
    writer = EventWriter(url, spool_path=spool, linger=0.01)
    writer.submit("Order-7", Ping(n=1), expected_position=5)  # wrong once the server is back
    writer.submit("Ping-7", Ping(n=2))
    assert writer.close(0.2) is False  # undelivered: left in the spool for the next writer
    eventstore.restart()

    done = run("spool", "replay", str(spool), "--url", url)
    assert done.returncode == 5
    assert "delivered 1 event, 1 refused by the server" in done.stdout
    assert "the server refused 1 event" in done.stderr
    assert f"plumberd spool export {spool} --dead-letters" in done.stderr
    assert [e.json()["N"] for e in eventstore.events("Ping-7")] == [2]
    assert len(eventstore.events("Order-7")) == 1


def test_purge_asks_first_then_deletes_the_orphaned_files(orphaned: Path) -> None:
    declined = plumberd("spool", "purge", str(orphaned), input="n\n")
    assert declined.returncode == 1
    assert declined.stderr.startswith(f"delete 1 orphaned file with {PENDING} pending events (")
    assert "and 1 dead letter? They will never be sent. [y/N] nothing deleted" in declined.stderr
    assert len(spool_files(orphaned)) == 1

    confirmed = plumberd("spool", "purge", str(orphaned), input="y\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert confirmed.stdout == "deleted 1 orphaned file\n"
    assert list(orphaned.iterdir()) == []  # with its -wal, -shm and .lock


def test_purge_without_an_answer_deletes_nothing(orphaned: Path, run: Run) -> None:
    assert run("spool", "purge", str(orphaned), input="").returncode == 1  # EOF: not confirmed
    assert run("spool", "purge", str(orphaned), input="yes please\n").returncode == 1
    assert len(spool_files(orphaned)) == 1
    assert run("spool", "purge", str(orphaned), input="YES\n").returncode == 0
    assert spool_files(orphaned) == []


def test_purge_never_deletes_a_live_writers_file(live_writer: Path) -> None:
    before = spool_files(live_writer)
    status = plumberd("spool", "status", str(live_writer))
    assert "  files           1 (1 live, 0 orphaned)" in status.stdout
    assert " live (pid " in status.stdout

    done = plumberd("spool", "purge", str(live_writer), "--yes")
    assert done.returncode == 7
    assert f"nothing purged: every file in {live_writer} belongs to a running writer (pid " in (
        done.stderr
    )
    assert spool_files(live_writer) == before

    replay = plumberd("spool", "replay", str(live_writer), "--url", "esdb://127.0.0.1:1?tls=false")
    assert "Traceback" not in replay.stderr
    assert replay.returncode == 7
    assert "nothing to replay" in replay.stderr


def test_purge_deletes_orphans_next_to_a_live_writer(
    eventstore: InMemoryEventStore, live_writer: Path, run: Run
) -> None:
    live = spool_files(live_writer)
    writer = EventWriter(eventstore.url, spool_path=live_writer)  # the server is down
    writer.submit("Ping-2", Ping(n=1))
    assert writer.close(0.2) is False  # its file is now an orphan; the live one is untouched
    assert len(spool_files(live_writer)) == 2

    done = run("spool", "purge", str(live_writer), "--yes")
    assert done.returncode == 0, done.stderr
    keeping, deleted = done.stdout.splitlines()
    assert keeping.startswith("keeping 1 file of running writers (pid ")
    assert deleted == "deleted 1 orphaned file"
    assert spool_files(live_writer) == live


@pytest.mark.parametrize("action", ["status", "export", "purge", "replay"])
def test_a_missing_directory_is_not_found(action: str, tmp_path: Path, run: Run) -> None:
    args = ["spool", action, str(tmp_path / "nope")]
    if action == "replay":
        args += ["--url", "esdb://127.0.0.1:1?tls=false"]
    done = run(*args)
    assert done.returncode == 6
    assert f"no spool at {tmp_path / 'nope'}: not a directory" in done.stderr


def test_spool_without_a_command_shows_its_help(run: Run) -> None:
    done = run("spool")
    assert done.returncode == 2
    assert "status" in done.stderr and "replay" in done.stderr


def test_help_of_each_command_documents_its_exit_codes() -> None:
    for action in ("status", "replay", "export", "purge"):
        done = plumberd("spool", action, "--help")
        assert done.returncode == 0
        assert "exit codes:" in done.stdout
    assert (
        "   7  every file with events belongs to a running writer"
        in plumberd("spool", "replay", "--help").stdout
    )
