"""The ``plumberd`` command with TLS, users and clusters.

``check`` gives each failure class its own exit code (8 TLS, 9 credentials, 10 not the leader)
and never prints a password; ``serve --tls --users --cluster`` prints the URL(s) and the CA file;
``tail --follow`` prints history, then live events, until SIGTERM/SIGINT (exit 0).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from plumberd_logging import Event, EventStoreClient
from plumberd_logging._cli.tail import CONFIRM_TIMEOUT
from plumberd_logging.testing import InMemoryCluster, InMemoryEventStore, ServerProcess, TlsFiles

from .conftest import Run
from .helpers import plumberd

pytestmark = pytest.mark.inprocess_only

PASSWORD = "Sup3r-S3cret-pw"
USERS = {"admin": PASSWORD, "reader": "Rd-S3cret-pw"}


class Ping(Event):
    n: int


@pytest.fixture(scope="module")
def tls() -> TlsFiles:
    return TlsFiles.generate()


@pytest.fixture
def secure(tls: TlsFiles) -> Iterator[InMemoryEventStore]:
    with InMemoryEventStore(tls=tls, users=USERS, writers={"admin"}) as store:
        yield store


def assert_clean(*outputs: str) -> None:
    for output in outputs:
        assert PASSWORD not in output
        assert USERS["reader"] not in output
        assert "Traceback" not in output


def test_check_passes_over_tls_and_shows_the_certificate(
    secure: InMemoryEventStore, run: Run
) -> None:
    done = run("check", secure.url)

    assert done.returncode == 0, done.stderr
    assert_clean(done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("plumberd check esdb://admin:***@127.0.0.1:")
    assert [line.split()[:2] for line in lines[1:4]] == [
        ["ok", "connect"],
        ["ok", "tls"],
        ["ok", "answer"],
    ]
    assert (
        f"certificate for localhost, 127.0.0.1) trusted by the CA in {secure.ca_file}" in (lines[2])
    )
    assert "the server answers a read as user 'admin'" in lines[3]


@pytest.mark.parametrize(
    ("case", "code", "failed_step", "message"),
    [
        ("unknown CA", 8, "tls", "is not trusted by the CA in"),
        ("wrong host", 8, "tls", "is not valid for '127.0.0.1' (IP address mismatch"),
        ("TLS to a plain server", 8, "tls", "the server does not answer with TLS there"),
        ("plain to a TLS server", 8, "answer", "expects TLS, but the URL says tls=false"),
        ("wrong password", 9, "answer", "refused the credentials of user 'admin'"),
        ("unknown user", 9, "answer", "refused the credentials of user 'nobody'"),
        ("no write permission", 9, "write", "access denied: user 'reader' may not write to"),
    ],
)
def test_check_exit_codes_per_failure_class(
    secure: InMemoryEventStore,
    eventstore: InMemoryEventStore,
    tls: TlsFiles,
    run: Run,
    case: str,
    code: int,
    failed_step: str,
    message: str,
) -> None:
    other_ca = TlsFiles.generate() if case == "unknown CA" else None
    with InMemoryEventStore(tls=tls.issue(hosts=["wrong.example"]), users=USERS) as wrong_host:
        url = {
            "unknown CA": lambda: secure.url_for(ca_file=other_ca.ca_file if other_ca else None),
            "wrong host": lambda: wrong_host.url,
            "TLS to a plain server": lambda: (
                f"esdb://admin:{PASSWORD}@127.0.0.1:{eventstore.port}"
                f"?tls=true&tlsCAFile={tls.ca_file}"
            ),
            "plain to a TLS server": lambda: f"esdb://127.0.0.1:{secure.port}?tls=false",
            "wrong password": lambda: secure.url_for("admin", "wrong-pw"),
            "unknown user": lambda: secure.url_for("nobody", PASSWORD),
            "no write permission": lambda: secure.url_for("reader"),
        }[case]()
        done = run("check", url, "--timeout", "3")

    assert done.returncode == code, done.stdout + done.stderr
    assert_clean(done.stdout, done.stderr)
    assert f"FAIL  {failed_step}" in done.stdout
    assert message in done.stderr
    assert len(done.stderr.splitlines()) == 2  # the diagnosis and a hint


def test_check_a_follower_is_not_leader_and_a_host_list_is_fine(run: Run) -> None:
    with InMemoryCluster(3, tls=True, users=USERS) as cluster:
        follower = run("check", cluster.nodes[2].url, "--timeout", "3")
        listed = run("check", cluster.url)
        discovered = run("check", cluster.discover_url)

    assert follower.returncode == 10
    assert "FAIL  answer     (not leader)" in follower.stdout
    assert f"the leader is 127.0.0.1:{cluster.nodes[0].port}" in follower.stderr
    assert (listed.returncode, discovered.returncode) == (0, 0), listed.stderr
    assert_clean(follower.stdout, follower.stderr, listed.stdout, discovered.stdout)


def test_check_a_missing_ca_file_is_a_usage_error(secure: InMemoryEventStore, run: Run) -> None:
    done = run("check", secure.url_for(ca_file="/no/such/ca.pem"))
    assert done.returncode == 2
    assert "tlsCAFile='/no/such/ca.pem': No such file or directory" in done.stderr
    assert_clean(done.stdout, done.stderr)


def test_check_in_a_subprocess_prints_no_password(secure: InMemoryEventStore) -> None:
    done = plumberd("check", secure.url_for("admin", "wrong-pw" + PASSWORD))
    assert done.returncode == 9
    assert_clean(done.stdout, done.stderr)


def test_check_help_lists_the_security_exit_codes(run: Run) -> None:
    done = run("check", "--help")
    for code, words in (("8", "TLS failure"), ("9", "wrong user name"), ("10", "follower")):
        assert any(
            line.split()[:1] == [code] and words in line for line in done.stdout.splitlines()
        )


# -- serve ----------------------------------------------------------------------------------


def _serve(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLUMBERD_URL"}
    return subprocess.Popen(
        [sys.executable, "-m", "plumberd_logging", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stop(child: subprocess.Popen[str]) -> tuple[str, str]:
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=15)
    assert child.returncode == 0, err
    return out, err


def test_serve_tls_users_cluster_prints_urls_and_the_ca_file(tmp_path: Path) -> None:
    tls_dir = tmp_path / "tls"
    child = _serve(
        "--tls-dir", str(tls_dir), "--users", f"admin:{PASSWORD},reader:pw", "--writers",
        "admin", "--cluster", "3",
    )  # fmt: skip
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline().strip() for _ in range(5)]
        url, ca_line, *nodes = lines
        assert url.startswith(f"esdb://admin:{PASSWORD}@127.0.0.1:")  # the dev server's own
        assert url.count(",") == 2
        assert url.endswith(f"?tls=true&tlsCAFile={tls_dir / 'ca.pem'}")
        assert ca_line == f"ca-file: {tls_dir / 'ca.pem'}"
        assert [n.split()[0] for n in nodes] == ["node-0:", "node-1:", "node-2:"]
        assert [n.split()[-1] for n in nodes] == ["Leader", "Follower", "Follower"]
        with EventStoreClient(url) as client:
            client.append_to_stream("Ping-1", Ping(n=1))
        reader_url = url.replace(f"admin:{PASSWORD}@", "reader:pw@")
        done = plumberd("check", reader_url)
        assert done.returncode == 9  # a reader may not write
        child.send_signal(signal.SIGUSR1)  # the next node leads; the client follows
        with EventStoreClient(url) as client:
            client.append_to_stream("Ping-1", Ping(n=2))
            assert [e.data["N"] for e in client.read_stream("Ping-1")] == [1, 2]
    finally:
        _, err = _stop(child)
    assert PASSWORD not in err  # the notes show the URL masked
    assert "esdb://admin:***@127.0.0.1:" in err
    assert "node-1 leads now" in err
    assert "TLS, users admin, reader" in err
    assert (tls_dir / "ca.pem").exists()


def test_serve_tls_alone_has_the_default_admin() -> None:
    child = _serve("--tls")
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        ca_line = child.stdout.readline().strip()
        assert url.startswith("esdb://admin:changeit@127.0.0.1:")
        assert ca_line.startswith("ca-file: ") and url.endswith(ca_line.split(" ", 1)[1])
        assert plumberd("check", url).returncode == 0
    finally:
        _stop(child)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "admin"], "--users: expected USER:PASSWORD"),
        (["--users", f"admin:{PASSWORD}", "--writers", "ghost"], "ghost"),
        (["--cluster", "0"], "--cluster: expected 1..9"),
    ],
)
def test_serve_rejects_bad_security_options(args: list[str], message: str, run: Run) -> None:
    done = run("serve", "--port", "0", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert PASSWORD not in done.stderr


# -- tail --follow --------------------------------------------------------------------------


class _Lines:
    """A child's stdout lines, read on a thread, taken with a timeout."""

    def __init__(self, child: subprocess.Popen[str]) -> None:
        self._child = child
        self._queue: queue.Queue[str] = queue.Queue()
        assert child.stdout is not None
        threading.Thread(target=self._read, args=(child.stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._queue.put(line)

    def take(self, n: int, timeout: float = 10) -> list[str]:
        try:
            return [self._queue.get(timeout=timeout).rstrip("\n") for _ in range(n)]
        except queue.Empty:
            self._child.kill()
            _, err = self._child.communicate(timeout=10)
            raise AssertionError(f"no line within {timeout}s; stderr: {err}") from None


def _tail(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLUMBERD_URL"}
    return subprocess.Popen(
        [sys.executable, "-m", "plumberd_logging", "tail", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_tail_follow_asks_again_when_the_server_never_confirms_the_subscription(
    eventstore: InMemoryEventStore,
) -> None:
    with EventStoreClient(eventstore.url) as client:
        client.append_to_stream("Ping-lost", [Ping(n=0)])
        eventstore.faults.hang("Subscribe", times=1)  # never confirmed, like a lost call
        child = _tail("Ping-lost", "--url", eventstore.url, "-f", "--json", "--limit", "1")
        lines = _Lines(child)
        assert json.loads(lines.take(1)[0])["data"]["N"] == 0
        client.append_to_stream("Ping-lost", [Ping(n=1)])
        assert json.loads(lines.take(1, timeout=30)[0])["data"]["N"] == 1
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=10)
    assert child.returncode == 0, err
    assert (
        f"plumberd tail: the server did not confirm the subscription within {CONFIRM_TIMEOUT:g}s;"
        " connecting again"
    ) in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_tail_follow_prints_history_then_live_events_until_a_signal(
    secure: InMemoryEventStore, sig: signal.Signals
) -> None:
    with EventStoreClient(secure.url) as client:
        client.append_to_stream("Ping-f", [Ping(n=i) for i in range(3)])
        child = _tail("Ping-f", "--url", secure.url, "--follow", "--json", "--limit", "2")
        lines = _Lines(child)
        history = [json.loads(line)["data"]["N"] for line in lines.take(2)]
        client.append_to_stream("Ping-f", [Ping(n=10), Ping(n=11)])
        live = [json.loads(line)["data"]["N"] for line in lines.take(2)]
    child.send_signal(sig)
    _, err = child.communicate(timeout=10)

    assert (history, live) == ([1, 2], [10, 11])  # nothing missed, nothing twice
    assert child.returncode == 0, err
    assert_clean(err)


def test_tail_follow_waits_for_a_new_stream_and_resubscribes_after_a_restart(
    eventstore: InMemoryEventStore,
) -> None:
    child = _tail("Ping-new", "--url", eventstore.url, "-f")
    lines = _Lines(child)
    with EventStoreClient(eventstore.url) as client:
        client.append_to_stream("Ping-new", Ping(n=1))
        assert lines.take(2)[0].startswith("#0  Ping  ")
        # A graceful restart: the subscription drops with UNAVAILABLE and tail subscribes again
        # after #0. (Stopped without grace, grpcio 1.85 sometimes leaves a streaming call hanging
        # past any deadline: known, see the plumberd_logging.testing docstring.)
        eventstore.stop(grace=0.5)
        eventstore.start()
        client.append_to_stream("Ping-new", Ping(n=2))
        first = lines.take(2)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=10)

    assert first[0].startswith("#1  Ping  ")
    assert child.returncode == 0, err
    assert "(following Ping-new: Ctrl-C to stop)" in err


def test_tail_follow_on_a_follower_is_not_leader(run: Run) -> None:
    with InMemoryCluster(3) as cluster:
        cluster.append("Ping-x", [])
        done = run("tail", "Ping-x", "--url", cluster.nodes[1].url, "--follow")
    assert done.returncode == 10
    assert "not the cluster's leader" in done.stderr


@pytest.mark.slow
def test_tail_notices_a_stream_that_went_back_before_it_subscribes_again(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from plumberd_logging._cli.tail import _history_kept

    with EventStoreClient(eventstore.url) as client:
        client.append_to_stream("Ping-kept", [Ping(n=i) for i in range(5)])
        last = client.read_stream("Ping-kept")[-1]
        assert _history_kept(client, "Ping-kept", 4, last.id) == 4  # still there: resume after #4
        assert capsys.readouterr().err == ""

        eventstore.reset()  # what a restart in memory does to the history
        assert _history_kept(client, "Ping-kept", 4, last.id) is None  # gone: from the start
        client.append_to_stream("Ping-kept", [Ping(n=i) for i in range(5)])
        assert _history_kept(client, "Ping-kept", 4, last.id) is None  # #4 is another event

    err = capsys.readouterr().err
    assert "Ping-kept went back: it has no event #4 any more" in err
    assert "Ping-kept went back: its event #4 is another one" in err


def test_tail_follow_notices_a_server_that_lost_its_history_and_follows_the_new_one() -> None:
    with ServerProcess() as server:  # in memory, in its own process: a restart loses history
        with EventStoreClient(server.url) as client:
            client.append_to_stream("Ping-gone", [Ping(n=i) for i in range(5)])
        child = _tail("Ping-gone", "--url", server.url, "-f", "--json", "--timeout", "60")
        lines = _Lines(child)
        assert [json.loads(line)["revision"] for line in lines.take(5)] == [0, 1, 2, 3, 4]
        server.restart()
        with EventStoreClient(server.url) as client:
            client.append_to_stream("Ping-gone", [Ping(n=100 + i) for i in range(3)])
        new = [json.loads(line) for line in lines.take(3, timeout=60)]
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=10)

    assert [(e["revision"], e["data"]["N"]) for e in new] == [(0, 100), (1, 101), (2, 102)]
    assert child.returncode == 0, err
    assert (
        "plumberd tail: Ping-gone went back: it has no event #4 any more (a server restarted "
        "in memory, or the stream was recreated); following its new history from the start"
    ) in err
