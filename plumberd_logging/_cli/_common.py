"""What the ``plumberd`` subcommands share: exit codes, the server URL, failure diagnosis.

    @command("tail")
    def tail(args: argparse.Namespace) -> int:
        url = server_url(args.url)                  # --url, else $PLUMBERD_URL, else usage error
        with open_client(url, timeout=5) as client:
            ...                                     # errors become a message and an exit code
        raise CommandError(Exit.NOT_FOUND, "stream 'x' not found")

Every expected failure ends as one ``plumberd <command>: <message>`` line on stderr (plus an
optional hint) and a documented exit code, never a traceback. URLs are only ever shown through
:func:`~plumberd_logging._url.redact`, and transport texts through the client's redaction.
"""

from __future__ import annotations

import argparse
import enum
import functools
import gc
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from plumberd_logging._url import redact, validate_url
from plumberd_logging.config import URL_VAR
from plumberd_logging.errors import (
    AccessDenied,
    NotLeader,
    PlumberdError,
    StreamDeleted,
    StreamNotFound,
    TlsError,
    Unauthenticated,
    Unavailable,
)

if TYPE_CHECKING:
    from plumberd_logging.client import EventStoreClient

__all__ = [
    "DEFAULT_PORT",
    "CommandError",
    "Endpoint",
    "Exit",
    "HelpFormatter",
    "command",
    "diagnose",
    "endpoints",
    "exit_codes_help",
    "human_age",
    "human_bytes",
    "is_timeout",
    "open_client",
    "plural",
    "probe_tcp",
    "quiet_grpc",
    "server_url",
    "shown",
]

DEFAULT_PORT = 2113


class Exit(enum.IntEnum):
    """Exit codes of the ``plumberd`` commands (the same meaning in every command)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    UNREACHABLE = 3
    TIMEOUT = 4
    SERVER_ERROR = 5
    NOT_FOUND = 6
    BUSY = 7
    TLS = 8
    CREDENTIALS = 9
    NOT_LEADER = 10
    CANNOT_EXECUTE = 126
    PROGRAM_NOT_FOUND = 127


_MEANINGS = {
    Exit.OK: "success",
    Exit.FAILURE: "failure (see the message)",
    Exit.USAGE: "usage error: bad arguments or a bad URL",
    Exit.UNREACHABLE: "server unreachable: connection refused, unknown host, no route",
    Exit.TIMEOUT: "timeout: the server accepted the connection but did not answer in time",
    Exit.SERVER_ERROR: "the server answered with an unexpected error",
    Exit.NOT_FOUND: "not found (a stream, a spool directory)",
    Exit.BUSY: "in use (a port; spool files of a running writer)",
    Exit.TLS: "TLS failure: unknown CA, certificate for another host, TLS on one side only",
    Exit.CREDENTIALS: "credentials refused (wrong user or password) or access denied",
    Exit.NOT_LEADER: "the node is not the cluster's leader (a direct URL to a follower)",
    Exit.CANNOT_EXECUTE: "the program cannot start: not executable, no #! line, no interpreter",
    Exit.PROGRAM_NOT_FOUND: "the program was not found",
}


def exit_codes_help(
    *codes: Exit, notes: dict[Exit, str] | None = None, title: str = "exit codes:"
) -> str:
    """The ``exit codes:`` block of a command's epilog (``notes`` replace the meanings).

    Every command's ``--help`` builds its list here, from the one table of meanings.
    """
    lines = [title]
    width = max((len(str(int(code))) for code in codes), default=1)
    for code in codes:
        meaning = (notes or {}).get(code, _MEANINGS[code])
        lines.append(f"  {int(code):>{max(width, 2)}}  {meaning}")
    return "\n".join(lines)


def add_timeout(parser: argparse.ArgumentParser, default: float, help: str) -> None:
    """The ``--timeout SECONDS`` option every command that talks to a server has."""
    parser.add_argument(
        "--timeout",
        type=float,
        default=default,
        metavar="SECONDS",
        help=f"{help} (default: %(default)s)",
    )


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps one-paragraph descriptions to the terminal; keeps multi-line epilogs as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


class CommandError(Exception):
    """An expected failure: printed as one line (and a hint), then the command exits ``code``."""

    def __init__(self, code: Exit, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[..., int]]:
    """Decorate a subcommand's handler: expected failures become a message and an exit code."""

    def decorate(fn: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
        @functools.wraps(fn)
        def run(args: argparse.Namespace) -> int:
            try:
                return fn(args)
            except CommandError as exc:
                return _fail(name, exc)
            except PlumberdError as exc:  # one a command did not expect: still no traceback
                return _fail(name, diagnose(exc))
            except BrokenPipeError:  # `plumberd tail ... | head`: the reader has had enough
                _silence_stdout()
                return Exit.OK
            finally:
                # Free failed gRPC calls kept alive by exception reference cycles now, while
                # grpc's threads run: collected at interpreter exit instead, their __del__ can
                # deadlock the exit (seen with a read of a missing stream).
                gc.collect()

        return run

    return decorate


def _fail(name: str, exc: CommandError) -> int:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _silence_stdout()
    print(f"plumberd {name}: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"  {exc.hint}", file=sys.stderr)
    return int(exc.code)


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def quiet_grpc() -> None:
    """Keep grpc's own info lines (e.g. ``Got goaway``) out of the command's output."""
    if "grpc" not in sys.modules:
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def server_url(given: str | None, option: str = "--url") -> str:
    """The connection string from ``--url``, else ``$PLUMBERD_URL``; validated (usage error)."""
    url = given or os.environ.get(URL_VAR, "").strip()
    if not url:
        raise CommandError(
            Exit.USAGE,
            f"no server URL: pass {option} or set ${URL_VAR}",
            "e.g. esdb://localhost:2113?tls=false (`plumberd serve` runs a server locally)",
        )
    try:
        validate_url(url, what="URL")
    except ValueError as exc:
        raise CommandError(Exit.USAGE, str(exc)) from None
    return url


@contextmanager
def open_client(url: str, timeout: float | None = None) -> Iterator[EventStoreClient]:
    """An ``EventStoreClient`` with ``timeout`` as its deadline; a bad URL is a usage error."""
    quiet_grpc()
    from plumberd_logging.client import EventStoreClient

    try:
        client = EventStoreClient(url, default_deadline=timeout)
    except ValueError as exc:
        raise CommandError(Exit.USAGE, str(exc)) from None
    try:
        yield client
    finally:
        client.close()


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) is a deadline that passed without an answer."""
    current: BaseException | None = exc
    visited: set[int] = set()
    while current is not None and id(current) not in visited:  # chains can loop
        visited.add(id(current))
        if isinstance(current, TimeoutError):
            return True
        # kurrentdbclient's DeadlineExceededError family, matched by name: the client core is
        # the only module that imports kurrentdbclient.
        if any(c.__name__ == "DeadlineExceededError" for c in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False


def diagnose(
    exc: BaseException, *, what: str = "the request", timeout: float | None = None
) -> CommandError:
    """The exit code and message for a failure of ``what`` talking to the server."""
    if isinstance(exc, CommandError):
        return exc
    text = str(exc)
    if isinstance(exc, StreamNotFound | StreamDeleted):
        return CommandError(Exit.NOT_FOUND, text)
    if is_timeout(exc):
        within = f" within {timeout:g}s" if timeout is not None else ""
        return CommandError(
            Exit.TIMEOUT,
            f"no answer to {what}{within}: the server accepted the connection but did not reply",
            "is it overloaded or still starting, or is this port not its gRPC port? "
            "(--timeout sets the wait)",
        )
    if isinstance(exc, TlsError):
        return CommandError(Exit.TLS, text, _TLS_HINTS.get(exc.reason))
    if isinstance(exc, Unauthenticated):
        return CommandError(
            Exit.CREDENTIALS,
            text,
            "check the user name and password in the URL (shown masked, never printed)",
        )
    if isinstance(exc, AccessDenied):
        return CommandError(
            Exit.CREDENTIALS,
            text,
            "use a user with that right, or grant it on the server (an $acl, or the user's groups)",
        )
    if isinstance(exc, NotLeader):
        hint = "writes go to the leader: connect with esdb+discover://HOST or list every node"
        return CommandError(Exit.NOT_LEADER, text, None if "+discover" in text else hint)
    if isinstance(exc, Unavailable):
        return CommandError(
            Exit.UNREACHABLE,
            f"cannot reach the server: {text}",
            "is it running, and do the host, port and tls= option match it?",
        )
    if isinstance(exc, ValueError):
        return CommandError(Exit.USAGE, text)
    return CommandError(Exit.SERVER_ERROR, f"the server answered {what} with an error: {text}")


_TLS_HINTS = {
    "unknown_ca": "tlsCAFile=PATH in the URL names the CA that signed the server's certificate",
    "wrong_host": "use the host name the server's certificate was issued for",
    "ca_file": "tlsCAFile must name a readable PEM file with the CA certificate",
    "handshake": "does the server use TLS (tls=true) on this port?",
}


class Endpoint:
    """One ``host:port`` of a connection string (the default port is 2113)."""

    __slots__ = ("host", "port")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def endpoints(url: str) -> list[Endpoint]:
    """The hosts of a (validated) connection string; a seed list for ``+discover`` schemes."""
    hosts = urlsplit(url).netloc.rpartition("@")[2]
    result = []
    for target in hosts.split(","):
        host, _, port = target.strip().partition(":")
        if host:
            result.append(Endpoint(host, int(port) if port else DEFAULT_PORT))
    return result


def probe_tcp(endpoint: Endpoint, timeout: float) -> tuple[float, CommandError | None]:
    """Open (and close) a TCP connection: its duration, or why it failed (no gRPC involved)."""
    start = time.monotonic()
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        return time.monotonic() - start, CommandError(
            Exit.UNREACHABLE,
            f"cannot resolve host {endpoint.host!r} ({exc.strerror})",
            "check the host name in the URL",
        )
    except ConnectionRefusedError:
        return time.monotonic() - start, CommandError(
            Exit.UNREACHABLE,
            f"connection refused by {endpoint}: nothing listens there",
            f"is the server running, and is the port right ({DEFAULT_PORT} by default)?",
        )
    except TimeoutError:
        return time.monotonic() - start, CommandError(
            Exit.UNREACHABLE,
            f"{endpoint} did not accept a connection within {timeout:g}s",
            "a firewall, a wrong address, or a host that is down?",
        )
    except OSError as exc:
        return time.monotonic() - start, CommandError(
            Exit.UNREACHABLE,
            f"cannot connect to {endpoint}: {exc.strerror or exc}",
            "check the network route to the server",
        )
    return time.monotonic() - start, None


def shown(url: str) -> str:
    """A URL as it may be printed: the password masked."""
    return redact(url)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "file")`` -> ``'1 file'``; ``plural(2_000, "event")`` -> ``'2,000 events'``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def human_bytes(n: int) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def human_age(seconds: float) -> str:
    """``3725`` -> ``'1 h 2 min'``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
