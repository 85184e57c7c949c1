"""``plumberd check [URL]``: can this machine write to the event store? A diagnosis if not.

    $ plumberd check 'esdb://localhost:2113?tls=false'
    plumberd check esdb://localhost:2113?tls=false (timeout 5s)
      ok    connect    localhost:2113 accepts TCP connections (0.2 ms)
      ok    answer     the server answers a read (3.1 ms)
      ok    write      PlumberdCheck appended to PlumberdCheck-6f1c... (4.0 ms)
      ok    read back  same id, type and data (1.2 ms)
      ok    expire     the scratch stream expires after 1 h ($maxAge) (1.1 ms)
    OK: the server accepts events and returns them

The steps run in order and stop at the first failure, whose class sets the exit code
(:class:`~plumberd_logging._cli._common.Exit`): a bad URL (2), unreachable (3: refused, unknown
host, no route), timeout (4: connected, no answer within ``--timeout``; each step has that
budget), an unexpected server error (5), TLS (8: the ``tls`` step's own handshake, made with
:mod:`ssl` and the URL's ``tlsCAFile``, names an unknown CA, a certificate for another host or a
server without TLS; so does a handshake the client itself fails), credentials (9: a wrong user
or password at ``answer``, no write permission at ``write``), not the leader (10: a URL naming
one follower). The round trip uses a scratch stream of its own, ``PlumberdCheck-<uuid>``.
Passwords are never printed: URLs are shown masked, users by name.

A new failure class slots in as a step in :data:`STEPS` and/or a case in :func:`classify`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from plumberd_logging._cli._common import (
    CommandError,
    Endpoint,
    Exit,
    HelpFormatter,
    add_timeout,
    command,
    diagnose,
    endpoints,
    exit_codes_help,
    open_client,
    probe_tcp,
    server_url,
    shown,
)
from plumberd_logging._url import Redactor
from plumberd_logging.config import URL_VAR
from plumberd_logging.events import Event
from plumberd_logging.streams import NO_STREAM

if TYPE_CHECKING:
    from plumberd_logging.client import EventStoreClient

__all__ = [
    "STEPS",
    "CheckContext",
    "PlumberdCheck",
    "Step",
    "add_parser",
    "check",
    "classify",
    "run_steps",
]

DEFAULT_TIMEOUT = 5.0
SCRATCH_CATEGORY = "PlumberdCheck"
SCRATCH_MAX_AGE = 3600  # seconds: the scratch stream expires (on servers that scavenge)

EPILOG = f"""examples:
  plumberd check 'esdb://localhost:2113?tls=false'
  PLUMBERD_URL='esdb://admin:changeit@db:2113?tls=false' plumberd check --timeout 2

{
    exit_codes_help(
        Exit.OK,
        Exit.USAGE,
        Exit.UNREACHABLE,
        Exit.TIMEOUT,
        Exit.SERVER_ERROR,
        Exit.TLS,
        Exit.CREDENTIALS,
        Exit.NOT_LEADER,
        notes={
            Exit.OK: "the server accepted a write and returned it",
            Exit.USAGE: "bad arguments or a bad URL (no URL, wrong scheme, missing host, "
            "a tlsCAFile that is not there)",
            Exit.TIMEOUT: "the server accepted the connection but did not answer within --timeout",
            Exit.CREDENTIALS: "wrong user name or password; or the user may not write",
            Exit.NOT_LEADER: "the URL names one node, a follower: use esdb+discover:// or "
            "list every node",
        },
    )
}"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "check",
        help="check connectivity and a write/read round trip; diagnose failures",
        description=(
            "Connect to the server, write an event to a scratch stream (PlumberdCheck-<uuid>) "
            "and read it back, then print a short report. Each failure class has its own exit "
            "code. Credentials in the URL are never printed."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("url", nargs="?", metavar="URL", help=f"connection string (default: ${URL_VAR})")
    add_timeout(p, DEFAULT_TIMEOUT, "how long each step may wait for the server")
    p.set_defaults(handler=check)


@dataclasses.dataclass
class CheckContext:
    """What the steps share."""

    url: str
    timeout: float
    client: EventStoreClient
    stream: str
    endpoints: list[Endpoint]
    reached: list[Endpoint] = dataclasses.field(default_factory=list)
    event_id: uuid.UUID | None = None
    body: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Step:
    """One step: ``run(ctx)`` returns what it saw, or raises; ``what`` names it in messages.

    ``applies(ctx)`` says whether the step runs for this URL (e.g. ``tls`` only with TLS).
    """

    name: str
    what: str
    run: Callable[[CheckContext], str]
    required: bool = True
    applies: Callable[[CheckContext], bool] | None = None


class PlumberdCheck(Event):
    """The scratch event (C#: ``record PlumberdCheck(Guid Id, string Host, int Process)``)."""

    host: str
    process: int


def _connect(ctx: CheckContext) -> str:
    failures: list[CommandError] = []
    reached: list[str] = []
    for endpoint in ctx.endpoints:
        _, error = probe_tcp(endpoint, ctx.timeout)
        if error is None:
            reached.append(str(endpoint))
            ctx.reached.append(endpoint)
        else:
            failures.append(error)
    if not reached:
        raise failures[0]
    note = f"; {len(failures)} other host(s) unreachable" if failures else ""
    return f"{', '.join(reached)} accepts TCP connections{note}"


def _uses_tls(ctx: CheckContext) -> bool:
    return Redactor(ctx.url).tls


def _tls(ctx: CheckContext) -> str:
    """A TLS handshake of our own with each reachable node: names what is wrong, precisely."""
    ca_file = Redactor(ctx.url).ca_file
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["h2"])  # what a gRPC server expects
    trusted = f"the CA in {ca_file}" if ca_file else "the system's CAs"
    seen: list[str] = []
    for endpoint in ctx.reached or ctx.endpoints:
        try:
            with (
                socket.create_connection((endpoint.host, endpoint.port), ctx.timeout) as raw,
                context.wrap_socket(raw, server_hostname=endpoint.host) as conn,
            ):
                version = conn.version() or "TLS"
                names = _certificate_names(conn.getpeercert())
        except ssl.SSLCertVerificationError as exc:
            raise _tls_failure(endpoint, exc, trusted) from None
        except ssl.SSLError as exc:
            raise CommandError(
                Exit.TLS,
                f"TLS: the handshake with {endpoint} failed ({exc.reason or exc}): the server "
                "does not answer with TLS there",
                "if the server runs without TLS, use tls=false in the URL",
            ) from None
        except OSError as exc:
            raise CommandError(
                Exit.TLS,
                f"TLS: {endpoint} closed the connection during the handshake "
                f"({exc.strerror or exc})",
                "does the server use TLS on this port?",
            ) from None
        seen.append(f"{endpoint} ({version}, certificate for {names})")
    return f"{'; '.join(seen)} trusted by {trusted}"


def _certificate_names(cert: dict[str, Any] | None) -> str:
    names = [value for kind, value in (cert or {}).get("subjectAltName", ()) if value]
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "") if names else "no name"


def _tls_failure(
    endpoint: Endpoint, exc: ssl.SSLCertVerificationError, trusted: str
) -> CommandError:
    message = exc.verify_message or str(exc)
    if exc.verify_code in (62, 64) or "mismatch" in message.lower():  # host name / IP address
        return CommandError(
            Exit.TLS,
            f"TLS: the certificate of {endpoint} is not valid for {endpoint.host!r} ({message})",
            "use the host name the server's certificate was issued for, or have it reissued",
        )
    return CommandError(
        Exit.TLS,
        f"TLS: the certificate of {endpoint} is not trusted by {trusted} ({message})",
        "tlsCAFile=PATH in the URL must name the CA that signed the server's certificate",
    )


def _answer(ctx: CheckContext) -> str:
    revision = ctx.client.stream_revision(ctx.stream)
    if revision is not None:
        raise CommandError(
            Exit.SERVER_ERROR, f"the new scratch stream {ctx.stream} already has events"
        )
    user = Redactor(ctx.url).user
    return "the server answers a read" + (f" as user {user!r}" if user and _uses_tls(ctx) else "")


def _write(ctx: CheckContext) -> str:
    event = PlumberdCheck(host=socket.gethostname(), process=os.getpid())
    ctx.event_id = event.id
    ctx.body = {"Id": str(event.id), "Host": event.host, "Process": event.process}
    ctx.client.append_to_stream(ctx.stream, event, expected_position=NO_STREAM)
    return f"{SCRATCH_CATEGORY} appended to {ctx.stream}"


def _read_back(ctx: CheckContext) -> str:
    events = ctx.client.read_stream(ctx.stream)
    if len(events) != 1:
        raise CommandError(
            Exit.SERVER_ERROR, f"wrote 1 event to {ctx.stream}, read back {len(events)}"
        )
    [event] = events
    if event.id != ctx.event_id or event.type != SCRATCH_CATEGORY or event.data != ctx.body:
        raise CommandError(
            Exit.SERVER_ERROR,
            f"the event read back differs from the one written "
            f"(id {event.id}, type {event.type!r}, data {event.data!r})",
        )
    return "same id, type and data"


def _expire(ctx: CheckContext) -> str:
    ctx.client.set_stream_metadata(ctx.stream, {"$maxAge": SCRATCH_MAX_AGE})
    return "the scratch stream expires after 1 h ($maxAge)"


STEPS: tuple[Step, ...] = (
    Step("connect", "the connection", _connect),
    Step("tls", "the TLS handshake", _tls, applies=_uses_tls),
    Step("answer", "a read", _answer),
    Step("write", "the write", _write),
    Step("read back", "the read", _read_back),
    Step("expire", "setting $maxAge", _expire, required=False),
)
"""The steps, in order. A step that is not ``required`` reports a failure as a note."""


def classify(exc: BaseException, step: Step, ctx: CheckContext) -> CommandError:
    """The diagnosis of a step's failure: exit code, message, hint."""
    if isinstance(exc, CommandError):
        return exc
    error = diagnose(exc, what=step.what, timeout=ctx.timeout)
    if error.code == Exit.UNREACHABLE and not _uses_tls(ctx):
        speaks_tls = next((e for e in ctx.reached if _speaks_tls(e, ctx.timeout)), None)
        if speaks_tls is not None:  # gRPC only says "Socket closed"
            return CommandError(
                Exit.TLS,
                f"TLS: {speaks_tls} expects TLS, but the URL says tls=false",
                "drop tls=false, and add user:password@ and tlsCAFile=PATH to the URL",
            )
    return error


def _speaks_tls(endpoint: Endpoint, timeout: float) -> bool:
    """Whether ``endpoint`` completes a TLS handshake (certificate not checked)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    try:
        with (
            socket.create_connection((endpoint.host, endpoint.port), timeout) as raw,
            context.wrap_socket(raw, server_hostname=endpoint.host),
        ):
            return True
    except OSError:  # ssl.SSLError too: plain text there, or nothing
        return False


def _run_bounded(step: Step, ctx: CheckContext) -> str:
    """Run a step within ``ctx.timeout`` (plus a little), even if the transport ignores it."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = step.run(ctx)
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=f"plumberd-check-{step.name}", daemon=True)
    worker.start()
    worker.join(ctx.timeout + 0.25)  # the client retries once after a deadline: don't wait
    if worker.is_alive():
        raise CommandError(
            Exit.TIMEOUT,
            f"no answer to {step.what} within {ctx.timeout:g}s: the server accepted the "
            "connection but did not reply",
            "is it overloaded or still starting, or is this port not its gRPC port? "
            "(--timeout sets the wait)",
        )
    if "error" in outcome:
        raise outcome["error"]
    return str(outcome["value"])


def run_steps(ctx: CheckContext, steps: tuple[Step, ...] = STEPS, *, quiet: bool = False) -> int:
    """Run ``steps`` in order, printing a line each (unless ``quiet``); raises the first failure
    as a :class:`CommandError` (its exit code and diagnosis)."""

    def say(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    for step in steps:
        if step.applies is not None and not step.applies(ctx):
            continue
        start = time.monotonic()
        try:
            detail = _run_bounded(step, ctx)
        except Exception as exc:
            error = classify(exc, step, ctx)
            if not step.required:
                say(f"  note  {step.name:<10} skipped: {error.message}")
                continue
            say(f"  FAIL  {step.name:<10} ({error.code.name.lower().replace('_', ' ')})")
            raise error from None
        elapsed = (time.monotonic() - start) * 1000
        say(f"  ok    {step.name:<10} {detail} ({elapsed:.1f} ms)")
    return Exit.OK


def preflight(url: str, timeout: float) -> None:
    """Connect and read once, quietly: raise the diagnosis when the server is not usable
    (before handing events to a writer, which would retry forever)."""
    with open_client(url, timeout=timeout) as client:
        ctx = CheckContext(
            url, timeout, client, f"{SCRATCH_CATEGORY}-{uuid.uuid4()}", endpoints(url)
        )
        run_steps(ctx, STEPS[:3], quiet=True)


@command("check")
def check(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise CommandError(Exit.USAGE, f"--timeout: expected seconds > 0, got {args.timeout}")
    url = server_url(args.url, "a URL")
    with open_client(url, timeout=args.timeout) as client:  # rejects bad URL options
        print(f"plumberd check {shown(url)} (timeout {args.timeout:g}s)", flush=True)
        ctx = CheckContext(
            url=url,
            timeout=args.timeout,
            client=client,
            stream=f"{SCRATCH_CATEGORY}-{uuid.uuid4()}",
            endpoints=endpoints(url),
        )
        code = run_steps(ctx)
    print("OK: the server accepts events and returns them", file=sys.stdout)
    return code
