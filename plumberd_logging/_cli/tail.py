"""``plumberd tail STREAM``: the last events of a stream, readable or as JSON lines.

    $ plumberd tail Recording-rec-1 --url 'esdb://localhost:2113?tls=false'
    #0  RecordingStarted  6f1c...  2025-06-01T12:00:00.1234567+02:00
        {"Id":"6f1c...","RecordingId":"rec-1","CameraId":"..."}

    $ plumberd tail Log-app --json --limit 100 | jq .data.Message

``--json`` prints one object per line: ``stream``, ``type``, ``id``, ``revision``, ``position``,
``data`` and ``metadata`` (decoded JSON; a body that is not JSON is ``null`` with the bytes in
``data_base64``).

``--follow`` (``-f``) then keeps printing new events as they are written, from a catch-up
subscription that starts right after the last event shown (so nothing is missed or shown twice),
until Ctrl-C or SIGTERM, then exits 0. A stream that does not exist yet is waited for. When the
connection drops (a server restart, a leader change) it subscribes again after the last event
printed, for up to ``--timeout`` seconds of failures, then exits with the diagnosis's code.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    add_timeout,
    command,
    diagnose,
    exit_codes_help,
    open_client,
    server_url,
)
from plumberd_logging._url import Redactor
from plumberd_logging.config import URL_VAR
from plumberd_logging.errors import (
    NotLeader,
    PlumberdError,
    StreamDeleted,
    StreamNotFound,
    TlsError,
    TransientError,
    Unavailable,
)

if TYPE_CHECKING:
    from uuid import UUID

    from plumberd_logging.client import EventStoreClient, RecordedEvent, StreamSubscription

__all__ = ["add_parser", "event_json", "format_event", "tail"]

DEFAULT_LIMIT = 20

EPILOG = f"""examples:
  plumberd tail Recording-rec-1 --url 'esdb://localhost:2113?tls=false'
  plumberd tail Log-myservice --limit 100          # with $PLUMBERD_URL set
  plumberd tail Log-myservice --json --limit 0 | jq -r .data.Message
  plumberd tail Log-myservice -f                   # then new events as they come, Ctrl-C ends

{
    exit_codes_help(
        Exit.OK,
        Exit.USAGE,
        Exit.UNREACHABLE,
        Exit.TIMEOUT,
        Exit.SERVER_ERROR,
        Exit.NOT_FOUND,
        Exit.TLS,
        Exit.CREDENTIALS,
        Exit.NOT_LEADER,
        notes={
            Exit.OK: "success; with --follow: stopped by Ctrl-C or SIGTERM",
            Exit.NOT_FOUND: "the stream does not exist (or was deleted; --follow waits for it)",
        },
    )
}"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "tail",
        help="print the last events of a stream",
        description=(
            "Print the last events of STREAM, oldest first: revision, type, event id, Created "
            "(from the metadata) and the data. --json prints one JSON object per line instead."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("stream", metavar="STREAM", help="stream name, e.g. Recording-rec-1")
    p.add_argument("--url", help=f"connection string (default: ${URL_VAR})")
    p.add_argument("--json", action="store_true", help="one JSON object per event and line")
    p.add_argument(
        "-n",
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"the last N events (default: {DEFAULT_LIMIT}; 0: the whole stream)",
    )
    p.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="then print new events as they are written, until Ctrl-C or SIGTERM",
    )
    add_timeout(
        p,
        10.0,
        "how long to wait for the server; with --follow, how long to keep trying to "
        "subscribe again after the connection drops",
    )
    p.set_defaults(handler=tail)


@command("tail")
def tail(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise CommandError(Exit.USAGE, f"--limit: expected 0 or more, got {args.limit}")
    if not args.timeout > 0:
        raise CommandError(Exit.USAGE, f"--timeout: expected seconds > 0, got {args.timeout}")
    if not args.stream:
        raise CommandError(Exit.USAGE, "STREAM: expected a stream name")
    url = server_url(args.url)
    with open_client(url, timeout=args.timeout) as client:
        try:
            if args.limit:
                events = client.read_stream(args.stream, backwards=True, limit=args.limit)
                events.reverse()
            else:
                events = client.read_stream(args.stream)
        except (StreamNotFound, StreamDeleted) as exc:
            if not args.follow:
                raise CommandError(
                    Exit.NOT_FOUND, str(exc), f"the server at {client.url} has no such stream"
                ) from None
            events = []
        except PlumberdError as exc:
            raise diagnose(exc, what="the read", timeout=args.timeout) from None
        _print_history(events, args)
        if args.follow:
            after = events[-1].revision if events else None
            return _follow(client, args, after, events[-1].id if events else None)
    return Exit.OK


def _print_history(events: list[RecordedEvent], args: argparse.Namespace) -> None:
    out = sys.stdout
    if not events:  # every event deleted or truncated ($tb): the stream reads as empty
        if not args.json and not args.follow:
            print(f"{args.stream}: no events")
        return
    for event in events:
        _print_event(event, args.json)
    if not args.json and args.limit and events[0].revision > 0:
        out.write("(earlier events not shown: --limit N for more, --limit 0 for all)\n")
    out.flush()


def _print_event(event: RecordedEvent, as_json: bool) -> None:
    line = json.dumps(event_json(event), ensure_ascii=False) if as_json else format_event(event)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


CONFIRM_TIMEOUT = 5.0
"""Seconds ``tail -f`` waits for the server to confirm a subscription before it reconnects."""


def _follow(
    client: EventStoreClient, args: argparse.Namespace, after: int | None, last_id: UUID | None
) -> int:
    """Print new events until a signal; subscribe again (after the last event) when the
    connection drops, for up to ``--timeout`` seconds of failures.

    Once subscribed it checks that the stream still holds the last event printed at its
    revision; if not (a development server restarted in memory, the stream recreated), it says
    so and follows the new history from its start. A subscription the server does not confirm
    within :data:`CONFIRM_TIMEOUT` is asked for again on a new connection.
    """
    stop = threading.Event()
    current: list[StreamSubscription] = []
    subscribing: list[float] = []  # when the subscription not yet confirmed was asked for
    failure: list[BaseException] = []
    discovers = Redactor(client.url).discovers  # the client follows a leader change itself

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        for subscription in current:
            subscription.stop()

    def run() -> None:
        nonlocal after, last_id
        failing_since: float | None = None
        try:
            while not stop.is_set():
                try:
                    subscribing[:] = [time.monotonic()]
                    try:
                        subscription = client.subscribe_stream(args.stream, after=after)
                    finally:
                        subscribing.clear()
                    current[:] = [subscription]
                    if (
                        after is not None
                        and last_id is not None
                        and _history_kept(client, args.stream, after, last_id) is None
                    ):  # checked once subscribed: the server may restart just before
                        subscription.stop()
                        after = last_id = None
                        continue
                    if stop.is_set():
                        subscription.stop()
                    for event in subscription:
                        _print_event(event, args.json)
                        after, last_id, failing_since = event.revision, event.id, None
                    if not stop.is_set():
                        raise Unavailable("the server ended the subscription")
                except TransientError as exc:  # a drop: UNAVAILABLE, or CANCELLED by a stop
                    retry = not isinstance(exc, TlsError) and (
                        not isinstance(exc, NotLeader) or discovers
                    )
                    now = time.monotonic()
                    failing_since = failing_since or now
                    if stop.is_set():
                        break
                    if not retry or now - failing_since >= args.timeout:
                        raise
                    where = f"after #{after}" if after is not None else "from the start"
                    print(
                        f"plumberd tail: connection lost ({exc}); subscribing again {where}",
                        file=sys.stderr,
                        flush=True,
                    )
                    stop.wait(min(1.0, 0.1 + (now - failing_since) / 2))
        except BaseException as exc:
            failure.append(exc)
        finally:
            stop.set()

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, on_signal) for sig in signals}
    try:
        if not args.json:
            print(f"(following {args.stream}: Ctrl-C to stop)", file=sys.stderr, flush=True)
        worker = threading.Thread(target=run, name="plumberd-tail", daemon=True)
        worker.start()
        while not stop.wait(0.25):
            started = subscribing[0] if subscribing else None
            if started is not None and time.monotonic() - started > CONFIRM_TIMEOUT:
                # gRPC can lose a call made while the server restarts: it then waits forever
                # for the confirmation. A new connection cancels it; the loop subscribes again.
                subscribing.clear()
                print(
                    f"plumberd tail: the server did not confirm the subscription within "
                    f"{CONFIRM_TIMEOUT:g}s; connecting again",
                    file=sys.stderr,
                    flush=True,
                )
                client.reset()
        for subscription in current:
            subscription.stop()
        worker.join(5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failure:
        exc = failure[0]
        if isinstance(exc, StreamDeleted):
            raise CommandError(Exit.NOT_FOUND, str(exc)) from None
        if isinstance(exc, PlumberdError):
            raise diagnose(exc, what="the subscription", timeout=args.timeout) from None
        raise exc
    return Exit.OK


def _history_kept(client: EventStoreClient, stream: str, after: int, last_id: UUID) -> int | None:
    """``after`` when event ``#after`` is still the one printed, else ``None`` (said on stderr)."""
    try:
        found = client.read_stream(stream, from_revision=after, limit=1)
    except (StreamNotFound, StreamDeleted):
        found = []
    if found and found[0].revision == after and found[0].id == last_id:
        return after
    now = (
        f"its event #{after} is another one"
        if found and found[0].revision == after
        else f"it has no event #{after} any more"
    )
    print(
        f"plumberd tail: {stream} went back: {now} (a server restarted in memory, or the "
        "stream was recreated); following its new history from the start",
        file=sys.stderr,
        flush=True,
    )
    return None


def format_event(event: RecordedEvent) -> str:
    """``#rev  Type  id  Created`` and the data on an indented second line."""
    created = event.metadata.get("Created")
    if not isinstance(created, str):
        created = event.recorded_at.isoformat() if event.recorded_at is not None else ""
    head = f"#{event.revision}  {event.type}  {event.id}  {created}".rstrip()
    return f"{head}\n    {_data_text(event)}"


def event_json(event: RecordedEvent) -> dict[str, Any]:
    """The JSON line ``--json`` prints for an event."""
    item: dict[str, Any] = {
        "stream": event.stream,
        "type": event.type,
        "id": str(event.id),
        "revision": event.revision,
        "position": event.position,
        "data": event.data,
        "metadata": event.metadata,
    }
    if event.data is None and event.raw_data:
        item["data_base64"] = base64.b64encode(event.raw_data).decode("ascii")
    return item


def _data_text(event: RecordedEvent) -> str:
    if event.data is not None:  # the JSON exactly as stored (what a C# reader parses)
        return event.raw_data.decode("utf-8", "replace")
    if not event.raw_data:
        return "(no data)"
    return f"({len(event.raw_data)} bytes of {event.content_type})"
