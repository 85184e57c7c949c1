"""``plumberd tail STREAM``: the last events of a stream, readable or as JSON lines.

    $ plumberd tail Recording-rec-1 --url 'esdb://localhost:2113?tls=false'
    #0  RecordingStarted  6f1c...  2025-06-01T12:00:00.1234567+02:00
        {"Id":"6f1c...","RecordingId":"rec-1","CameraId":"..."}

    $ plumberd tail Log-app --json --limit 100 | jq .data.Message

``--json`` prints one object per line: ``stream``, ``type``, ``id``, ``revision``, ``position``,
``data`` and ``metadata`` (decoded JSON; a body that is not JSON is ``null`` with the bytes in
``data_base64``). ``--follow`` comes with subscriptions.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from typing import TYPE_CHECKING, Any

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    command,
    diagnose,
    exit_codes_help,
    open_client,
    server_url,
)
from plumberd_logging.config import URL_VAR
from plumberd_logging.errors import PlumberdError, StreamDeleted, StreamNotFound

if TYPE_CHECKING:
    from plumberd_logging.client import RecordedEvent

__all__ = ["add_parser", "event_json", "format_event", "tail"]

DEFAULT_LIMIT = 20

EPILOG = f"""examples:
  plumberd tail Recording-rec-1 --url 'esdb://localhost:2113?tls=false'
  plumberd tail Log-myservice --limit 100          # with $PLUMBERD_URL set
  plumberd tail Log-myservice --json --limit 0 | jq -r .data.Message

{
    exit_codes_help(
        Exit.OK,
        Exit.USAGE,
        Exit.UNREACHABLE,
        Exit.TIMEOUT,
        Exit.SERVER_ERROR,
        Exit.NOT_FOUND,
        notes={Exit.NOT_FOUND: "the stream does not exist (or was deleted)"},
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
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the server (default: %(default)s)",
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
            raise CommandError(
                Exit.NOT_FOUND, str(exc), f"the server at {client.url} has no such stream"
            ) from None
        except PlumberdError as exc:
            raise diagnose(exc, what="the read", timeout=args.timeout) from None
    if not events:  # every event deleted or truncated ($tb): the stream reads as empty
        if not args.json:
            print(f"{args.stream}: no events")
        return Exit.OK
    out = sys.stdout
    for event in events:
        if args.json:
            out.write(json.dumps(event_json(event), ensure_ascii=False) + "\n")
        else:
            out.write(format_event(event) + "\n")
    if not args.json and args.limit and events[0].revision > 0:
        out.write("(earlier events not shown: --limit N for more, --limit 0 for all)\n")
    out.flush()
    return Exit.OK


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
