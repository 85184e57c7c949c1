"""``plumberd check``: the round trip, and a distinct exit code and diagnosis per failure class."""

from __future__ import annotations

import time

import pytest

from plumberd_logging.testing import InMemoryEventStore

from .conftest import Run
from .helpers import PASSWORD, closed_port, plumberd


def assert_clean(output: str) -> None:
    """What no output of the command may contain."""
    assert "Traceback" not in output
    assert PASSWORD not in output


def test_ok_writes_and_reads_back_on_a_scratch_stream(eventstore: InMemoryEventStore) -> None:
    done = plumberd("check", eventstore.url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"plumberd check {eventstore.url} (timeout 5s)"
    assert [line.split()[:2] for line in lines[1:6]] == [
        ["ok", "connect"],
        ["ok", "answer"],
        ["ok", "write"],
        ["ok", "read"],
        ["ok", "expire"],
    ]
    assert lines[-1] == "OK: the server accepts events and returns them"
    [scratch] = [s for s in eventstore.streams() if s.startswith("PlumberdCheck-")]
    [event] = eventstore.events(scratch)
    assert event.type == "PlumberdCheck"
    assert set(event.json()) == {"Id", "Host", "Process"}
    assert eventstore.stream_metadata(scratch) == {"$maxAge": 3600}


def test_each_run_uses_a_new_scratch_stream(eventstore: InMemoryEventStore, run: Run) -> None:
    assert run("check", eventstore.url).returncode == 0
    assert run("check", eventstore.url).returncode == 0
    assert len([s for s in eventstore.streams() if s.startswith("PlumberdCheck-")]) == 2


def test_url_from_the_environment(eventstore: InMemoryEventStore, run: Run) -> None:
    done = run("check", env={"PLUMBERD_URL": eventstore.url})
    assert done.returncode == 0, done.stderr


def test_connection_refused_is_unreachable_without_password_or_traceback() -> None:
    port = closed_port()
    url = f"esdb://admin:{PASSWORD}@127.0.0.1:{port}?tls=false"
    done = plumberd("check", url)
    assert done.returncode == 3
    assert_clean(done.stdout + done.stderr)
    assert f"esdb://admin:***@127.0.0.1:{port}?tls=false" in done.stdout
    assert "FAIL  connect" in done.stdout
    assert f"connection refused by 127.0.0.1:{port}: nothing listens there" in done.stderr


def test_stopped_server_is_unreachable(eventstore: InMemoryEventStore, run: Run) -> None:
    url = eventstore.url
    eventstore.stop()
    done = run("check", url)
    assert done.returncode == 3
    assert "connection refused" in done.stderr


def test_unknown_host_is_unreachable(run: Run) -> None:
    done = run("check", f"esdb://admin:{PASSWORD}@no-such-host.invalid:2113?tls=false")
    assert done.returncode == 3
    assert_clean(done.stdout + done.stderr)
    assert "cannot resolve host 'no-such-host.invalid'" in done.stderr


@pytest.mark.slow
def test_a_server_that_does_not_answer_is_a_timeout(eventstore: InMemoryEventStore) -> None:
    eventstore.faults.hang("Read", seconds=30)
    start = time.monotonic()
    done = plumberd("check", eventstore.url, "--timeout", "0.5")
    elapsed = time.monotonic() - start
    assert done.returncode == 4
    assert_clean(done.stdout + done.stderr)
    assert "FAIL  answer" in done.stdout
    assert "no answer to a read within 0.5s: the server accepted the connection but did not" in (
        done.stderr
    )
    assert elapsed < 10  # bounded by --timeout, not by the 30 s hang


def test_a_write_that_gets_no_answer_is_a_timeout(eventstore: InMemoryEventStore, run: Run) -> None:
    eventstore.faults.hang("BatchAppend", seconds=30)
    start = time.monotonic()
    done = run("check", eventstore.url, "--timeout", "0.3")
    elapsed = time.monotonic() - start
    assert done.returncode == 4
    assert "ok    answer" in done.stdout
    assert "FAIL  write      (timeout)" in done.stdout
    assert "no answer to the write within 0.3s" in done.stderr
    assert elapsed < 5


def test_an_error_answer_is_a_server_error(eventstore: InMemoryEventStore, run: Run) -> None:
    eventstore.faults.fail("BatchAppend", "INTERNAL", times=None)
    done = run("check", eventstore.url)
    assert done.returncode == 5
    assert_clean(done.stdout + done.stderr)
    assert "the server answered the write with an error" in done.stderr


def test_bad_url_is_a_usage_error() -> None:
    done = plumberd("check", f"http://admin:{PASSWORD}@localhost:2113")
    assert done.returncode == 2
    assert_clean(done.stdout + done.stderr)
    assert done.stderr == (
        "plumberd check: URL: 'http://admin:***@localhost:2113' has scheme 'http'; expected "
        "one of esdb://, esdb+discover://, kurrentdb://, kurrentdb+discover://, kdb://, "
        "kdb+discover://\n"
    )
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("esdb://?tls=false", "names no host"),
        (f"esdb://admin:{PASSWORD}@localhost:21x3?tls=false", "invalid host:port"),
        ("esdb://localhost:2113", "uses TLS (the default)"),
        (f"esdb://admin:{PASSWORD}@localhost:2113?tls=maybe", "tls='maybe'"),
        (
            f"esdb://admin:{PASSWORD}@localhost:2113?tls=false&nodePreference=x",
            "option nodePreference: expected one of leader, follower",
        ),
    ],
)
def test_more_bad_urls(url: str, message: str, run: Run) -> None:
    done = run("check", url)
    assert done.returncode == 2
    assert_clean(done.stdout + done.stderr)
    assert message in done.stderr
    assert done.stdout == ""


def test_no_url_is_a_usage_error(run: Run) -> None:
    done = run("check")
    assert done.returncode == 2
    assert "no server URL: pass a URL or set $PLUMBERD_URL" in done.stderr


def test_help_documents_the_exit_codes(run: Run) -> None:
    done = run("check", "--help")
    assert done.returncode == 0
    for code in ("0", "2", "3", "4", "5"):
        assert f"\n   {code}  " in done.stdout
    assert "--timeout SECONDS" in done.stdout
