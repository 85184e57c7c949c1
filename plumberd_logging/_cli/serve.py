"""``plumberd serve``: the in-process EventStoreDB/KurrentDB in the foreground, for development.

    $ plumberd serve --port 2113
    esdb://127.0.0.1:2113?tls=false
    plumberd serve: in-memory EventStoreDB/KurrentDB for development ...

The first stdout line is the connection URL (scripts read it); notes go to stderr. It serves
:class:`plumberd_logging.testing.InMemoryEventStore` until Ctrl-C or SIGTERM, then exits 0. The
data lives in memory and is gone when it stops.
"""

from __future__ import annotations

import argparse
import errno
import signal
import socket
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    command,
    exit_codes_help,
    plural,
    quiet_grpc,
)

if TYPE_CHECKING:
    from plumberd_logging.testing import InMemoryEventStore

__all__ = ["add_parser", "serve"]

DEFAULT_MAX_APPEND_SIZE = 1_048_576  # KurrentDB's MaxAppendSize default

EPILOG = f"""examples:
  plumberd serve                      # esdb://127.0.0.1:2113?tls=false
  plumberd serve --port 0             # any free port; the URL is the first stdout line
  plumberd serve --host 0.0.0.0       # reachable from other machines (no TLS, no users)

{
    exit_codes_help(
        Exit.OK,
        Exit.FAILURE,
        Exit.USAGE,
        Exit.BUSY,
        notes={
            Exit.OK: "stopped by Ctrl-C or SIGTERM",
            Exit.FAILURE: "the server could not start",
            Exit.BUSY: "the port is in use (another server?); --port 0 picks a free one",
        },
    )
}"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run an in-memory EventStoreDB/KurrentDB for local development",
        description=(
            "Serve the in-process, protocol-faithful EventStoreDB/KurrentDB test server of "
            "plumberd_logging.testing until Ctrl-C or SIGTERM. Real clients (C# and Python) "
            "talk to it over gRPC. Data is kept in memory only. The connection URL is printed "
            "on the first line of stdout."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=2113, help="TCP port; 0 picks a free one (default: %(default)s)"
    )
    p.add_argument(
        "--max-append-size",
        type=int,
        default=DEFAULT_MAX_APPEND_SIZE,
        metavar="BYTES",
        help="largest append the server accepts (default: %(default)s, as KurrentDB)",
    )
    # TLS (--tls), users (--users) and a 3-node cluster (--cluster) join this parser with the
    # security issue (#8); build_server() is where they will configure the server.
    p.set_defaults(handler=serve)


def build_server(args: argparse.Namespace) -> InMemoryEventStore:
    """The (not yet started) server the options describe."""
    if not 0 <= args.port <= 65535:
        raise CommandError(Exit.USAGE, f"--port: expected 0..65535, got {args.port}")
    if args.max_append_size < 1:
        raise CommandError(Exit.USAGE, "--max-append-size: expected a positive number of bytes")
    from plumberd_logging.testing import InMemoryEventStore

    return InMemoryEventStore(args.port, host=args.host, max_append_size=args.max_append_size)


def _check_address(host: str, port: int) -> None:
    """Fail with a clear reason before gRPC tries (its own error text says little)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(Exit.USAGE, f"--host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    Exit.BUSY,
                    f"cannot listen on {host}:{port}: the port is in use",
                    "is another server running there? --port 0 picks a free port",
                ) from None
            raise CommandError(
                Exit.FAILURE, f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None


@command("serve")
def serve(args: argparse.Namespace) -> int:
    quiet_grpc()
    server = build_server(args)
    stopped = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    _check_address(args.host, args.port)
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.start()
        except OSError as exc:
            raise CommandError(Exit.FAILURE, f"the server could not start: {exc}") from None
        try:
            print(server.url, flush=True)
            print(
                "plumberd serve: in-memory EventStoreDB/KurrentDB for development (no TLS, no "
                "users; data is lost when it stops). Ctrl-C to stop.",
                file=sys.stderr,
                flush=True,
            )
            stopped.wait()
        finally:
            streams = len(server.streams())
            events = len(server.all_events())
            server.stop()
        print(
            f"plumberd serve: stopped; {plural(events, 'event')} in "
            f"{plural(streams, 'stream')} discarded",
            file=sys.stderr,
        )
        return Exit.OK
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
