"""No password in anything a user can observe, on any path (issue #8, "credential hygiene").

Every entry point (client, writer, logging handler, structlog processor, ``@emits``,
``CommandBus``, and the ``plumberd`` commands check, tail, demo --url and spool replay) runs
against a TLS server with recognisable passwords, through success and each failure we can
trigger: wrong password, a user without write access, an unknown CA, a certificate for another
host, a server that is down, bad URLs. Everything observable is scanned: exception texts, reprs
and whole tracebacks (``__cause__``/``__context__`` chains included), ``stats()`` and
``last_error``, receipts' exceptions, stdout and stderr (in-process and of subprocesses), and
every log record (the transport's included, at DEBUG). Zero occurrences.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plumberd_logging import (
    CommandBus,
    Event,
    EventStoreClient,
    EventStoreHandler,
    EventWriter,
    RetryPolicy,
    emits,
)
from plumberd_logging.cli import main
from plumberd_logging.emits import emitter_of
from plumberd_logging.structlog import EventStoreProcessor
from plumberd_logging.testing import InMemoryEventStore, TlsFiles

from .conftest import PASSWORD, READER_PASSWORD

pytestmark = [pytest.mark.inprocess_only, pytest.mark.slow]

WRONG_PASSWORD = "Wr0ng-S3cret-pw"
SECRETS = (PASSWORD, READER_PASSWORD, WRONG_PASSWORD)
CASES = ("ok", "wrong password", "no write access", "unknown CA", "wrong host", "down")
#: What each failure looks like, so that a scan is known to have seen the failure path.
DIAGNOSES = {
    "ok": "",
    "wrong password": "refused the credentials of user 'admin'",
    "no write access": "access denied: user 'reader' may not write",
    "unknown CA": "is not trusted (unable to get local issuer certificate)",
    "wrong host": "hostname verification failed",
    "down": "Connection refused",
}
BAD_URLS = (
    f"http://admin:{PASSWORD}@127.0.0.1:2113",
    f"esdb://admin:{PASSWORD}@127.0.0.1:21x3?tls=true",
    f"esdb://admin:{PASSWORD}@127.0.0.1:2113?tls=true&nodePreference=nope",
    f"esdb://admin:{PASSWORD}@127.0.0.1:2113?tls=true&tlsCAFile=/no/such/ca.pem",
    f"esdb://admin:pa/{PASSWORD}@127.0.0.1:2113?tls=true",  # a password the URL cannot hold
)


class Reading(Event):
    n: int


class StartRecording(Event):
    camera: str


@dataclasses.dataclass
class Scan:
    """What was observed, by where it came from."""

    seen: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def text(self, where: str, text: object) -> None:
        self.seen.append((where, str(text)))

    def error(self, where: str, exc: BaseException | None) -> None:
        if exc is not None:
            self.text(where, repr(exc))
            self.text(where, "".join(traceback.format_exception(exc)))

    def call(self, where: str, fn: Callable[[], object]) -> object:
        try:
            result = fn()
        except Exception as exc:
            self.error(where, exc)
            return None
        self.text(where, repr(result))
        return result

    def saw(self, fragment: str) -> bool:
        return any(fragment in text for _, text in self.seen)

    def leaks(self) -> list[str]:
        return [f"{where}: {text[:300]}" for where, text in self.seen for s in SECRETS if s in text]


@pytest.fixture
def scan(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Scan]:
    caplog.set_level(logging.DEBUG)  # the transport's records too
    found = Scan()
    yield found
    out, err = capsys.readouterr()
    found.text("stdout", out)
    found.text("stderr", err)
    for record in caplog.records:
        found.text(f"log {record.name}", record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            found.error(f"log {record.name}", record.exc_info[1])
    assert found.leaks() == []
    assert len(found.seen) > 3  # it did look at something


@pytest.fixture
def urls(
    secure: InMemoryEventStore,
    other_ca: TlsFiles,
    wrong_host_server: InMemoryEventStore,
    tls: TlsFiles,
) -> dict[str, str]:
    with InMemoryEventStore(tls=tls, users={"admin": PASSWORD}) as gone:
        down = gone.url
    with EventStoreClient(secure.url) as admin:  # a stream to read and subscribe to
        admin.append_to_stream("Reading-1", Reading(n=0))
    return {
        "ok": secure.url,
        "wrong password": secure.url_for("admin", WRONG_PASSWORD),
        "no write access": secure.url_for("reader"),
        "unknown CA": secure.url_for(ca_file=other_ca.ca_file),
        "wrong host": wrong_host_server.url,
        "down": down,
    }


def _writer_options() -> dict[str, Any]:
    """Give up quickly on transient failures, so those paths end in dead letters too."""
    return {
        "append_timeout": 1.0,
        "linger": 0.0,
        "close_timeout": 1.0,
        "retry": RetryPolicy(initial_backoff=0.05, max_backoff=0.2, give_up_after=0.6),
    }


def test_the_password_is_in_the_url_we_pass(urls: dict[str, str]) -> None:
    assert PASSWORD in urls["ok"]  # so the scans below are meaningful
    assert WRONG_PASSWORD in urls["wrong password"]
    assert READER_PASSWORD in urls["no write access"]


@pytest.mark.parametrize("case", CASES)
def test_client(urls: dict[str, str], case: str, scan: Scan) -> None:
    client = EventStoreClient(urls[case], default_deadline=2)
    try:
        scan.text("client repr", repr(client))
        scan.text("client url", client.url)
        scan.call("append", lambda: client.append_to_stream("Reading-1", Reading(n=1)))
        scan.call("read", lambda: client.read_stream("Reading-1"))
        scan.call("revision", lambda: client.stream_revision("Reading-1"))
        scan.call("metadata", lambda: client.set_stream_metadata("Reading-1", {"$maxAge": 60}))
        scan.call("subscribe", lambda: next(client.subscribe_stream("Reading-1")))
    finally:
        client.close()
    assert scan.saw(DIAGNOSES[case])


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_urls_everywhere(url: str, scan: Scan) -> None:
    scan.call("client", lambda: EventStoreClient(url))
    scan.call("writer", lambda: EventWriter(url))
    scan.call("handler", lambda: EventStoreHandler(url))
    scan.call("processor", lambda: EventStoreProcessor(url))
    scan.call("bus", lambda: CommandBus(url))
    for argv in (["check", url], ["tail", "S", "--url", url], ["demo", "--url", url]):
        scan.call(f"plumberd {argv[0]}", functools.partial(main, argv))


@pytest.mark.parametrize("case", CASES)
def test_writer(urls: dict[str, str], case: str, scan: Scan) -> None:
    failed: list[BaseException] = []
    writer = EventWriter(urls[case], on_failed=lambda r, e: failed.append(e), **_writer_options())
    try:
        receipts = [writer.submit(f"Reading-{n % 3}", Reading(n=n)) for n in range(6)]
        writer.flush(3)
        scan.text("writer repr", repr(writer))
        scan.text("stats", writer.stats())
        for receipt in receipts:
            scan.text("receipt", repr(receipt))
            scan.call("receipt", functools.partial(receipt.exception, 0))
            scan.call("result", functools.partial(receipt.result, 0))
        for exc in failed:
            scan.error("on_failed", exc)
    finally:
        writer.close(0.5)
    scan.text("stats after close", writer.stats())
    assert scan.saw(DIAGNOSES[case])


@pytest.mark.parametrize("case", CASES)
def test_logging_handler(urls: dict[str, str], case: str, scan: Scan) -> None:
    handler = EventStoreHandler(
        urls[case], capture_logs=True, service="hygiene", **_writer_options()
    )
    logger = logging.getLogger(f"hygiene.{case}")
    logger.addHandler(handler)
    try:
        logger.warning("user %s logged in", "alice")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("it failed")
        handler.writer.flush(3)
        scan.text("handler repr", repr(handler))
        scan.text("handler stats", handler.writer.stats())
    finally:
        logger.removeHandler(handler)
        handler.close()


@pytest.mark.parametrize("case", CASES)
def test_structlog_processor(urls: dict[str, str], case: str, scan: Scan) -> None:
    processor = EventStoreProcessor(urls[case], capture_logs=True, **_writer_options())
    try:
        scan.call("processor", lambda: processor(None, "info", {"event": "camera moved", "x": 1}))
        processor.writer.flush(3)
        scan.text("processor repr", repr(processor))
        scan.text("processor stats", processor.writer.stats())
    finally:
        processor.close(0.5)


@pytest.mark.parametrize("case", CASES)
def test_emits(urls: dict[str, str], case: str, scan: Scan) -> None:
    writer = EventWriter(urls[case], **_writer_options())

    @emits(StartRecording, "Recording-1", writer=writer)
    def start(camera: str) -> None:
        pass

    try:
        scan.call("emits", lambda: start("front"))
        writer.flush(3)
        scan.text("emitter", repr(emitter_of(start)))
        scan.text("emitter failures", emitter_of(start).failures)
        scan.text("emits stats", writer.stats())
    finally:
        writer.close(0.5)


@pytest.mark.parametrize("case", CASES)
def test_command_bus(urls: dict[str, str], case: str, scan: Scan) -> None:
    bus = CommandBus(urls[case], timeout=2)
    try:
        scan.text("bus repr", repr(bus))
        scan.call("send", lambda: bus.send("rec-1", StartRecording(camera="front")))
        scan.call(
            "send and wait", lambda: bus.send("rec-1", StartRecording(camera="x"), False, 0.3)
        )
    finally:
        bus.close()


@pytest.mark.parametrize("case", CASES)
def test_commands_in_process(urls: dict[str, str], case: str, scan: Scan, tmp_path: Path) -> None:
    url = urls[case]
    spool = tmp_path / "spool"
    writer = EventWriter(urls["down"], spool_path=spool, linger=0.0)
    writer.submit("Reading-9", Reading(n=9))
    writer.close(0.2)  # kept in the spool: an orphaned file for `spool replay`
    for argv in (
        ["check", url, "--timeout", "2"],
        ["tail", "Reading-1", "--url", url, "--timeout", "2"],
        ["demo", "--url", url, "--timeout", "2"],
        ["spool", "replay", str(spool), "--url", url, "--timeout", "2"],
    ):
        scan.call(f"plumberd {argv[0]}", functools.partial(main, argv))


@pytest.mark.parametrize("case", ["ok", "wrong password", "unknown CA"])
def test_commands_in_a_subprocess(urls: dict[str, str], case: str, scan: Scan) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PLUMBERD_URL"}
    for argv in (["check", urls[case]], ["tail", "Reading-1", "--url", urls[case]]):
        done = subprocess.run(
            [sys.executable, "-m", "plumberd_logging", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
        scan.text(f"plumberd {argv[0]} stdout", done.stdout)
        scan.text(f"plumberd {argv[0]} stderr", done.stderr)
