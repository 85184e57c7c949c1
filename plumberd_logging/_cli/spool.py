"""``plumberd spool status|replay|export|purge PATH``: look after a writer's durable spool.

    plumberd spool status /var/spool/myapp             # files, pending events, dead letters
    plumberd spool replay /var/spool/myapp --url URL   # send what crashed writers left behind
    plumberd spool export /var/spool/myapp --dead-letters --output events.jsonl
    plumberd spool purge /var/spool/myapp              # delete orphaned files (asks first)

A spool directory (``EventWriter(spool_path=...)``, ``$PLUMBERD_SPOOL``) holds one SQLite file
per writer. A file is *live* while its writer runs (it holds the file's lock) and *orphaned*
once that writer is gone with events left (crash, kill, close before delivery). The next writer
that opens the directory adopts orphaned files; ``replay`` does exactly that with a writer of its
own, so it sends each event once, in order, with its original id (a retry is de-duplicated by
the server). Live files are never replayed nor deleted: their writer delivers them.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    add_timeout,
    command,
    exit_codes_help,
    human_age,
    human_bytes,
    plural,
    quiet_grpc,
    server_url,
    shown,
)
from plumberd_logging._cli._progress import Progress
from plumberd_logging._cli.check import preflight
from plumberd_logging.config import URL_VAR
from plumberd_logging.spool import (
    SpoolFile,
    SpoolRecord,
    read_dead_letters,
    read_records,
    remove_orphan,
    spool_files,
)
from plumberd_logging.streams import StreamState

__all__ = ["add_parser", "export", "purge", "record_json", "replay", "status"]

DEFAULT_REPLAY_TIMEOUT = 60.0

EPILOG = """examples:
  plumberd spool status /var/spool/myapp
  plumberd spool replay /var/spool/myapp --url 'esdb://db:2113?tls=false'
  plumberd spool export /var/spool/myapp --dead-letters > spooled.jsonl
  plumberd spool purge /var/spool/myapp --yes

A file is live while its writer runs, orphaned when the writer is gone with events left.
See `plumberd spool COMMAND --help` for each command's exit codes."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "spool",
        help="inspect, replay, export or purge a durable spool directory",
        description=(
            "Look after the durable spool of EventWriter(spool_path=...): what it holds, "
            "sending the events that crashed or killed writers left behind, exporting them as "
            "JSON lines, or deleting them."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.set_defaults(handler=lambda args: _help(p))
    actions = p.add_subparsers(title="commands", metavar="COMMAND")

    s = actions.add_parser(
        "status",
        help="files, live/orphaned, pending events, bytes, dead letters, oldest age",
        description="Show what a spool directory holds, without changing anything.",
        epilog="example:\n  plumberd spool status /var/spool/myapp --json\n\n"
        + exit_codes_help(
            Exit.OK,
            Exit.USAGE,
            Exit.NOT_FOUND,
            notes={Exit.NOT_FOUND: "PATH is not a directory"},
        ),
        formatter_class=HelpFormatter,
    )
    s.add_argument("path", metavar="PATH", help="the spool directory")
    s.add_argument("--json", action="store_true", help="one JSON object (for scripts)")
    s.set_defaults(handler=status)

    r = actions.add_parser(
        "replay",
        help="send the orphaned files' events to the server",
        description=(
            "Send the events of orphaned spool files (left by writers that crashed, were "
            "killed or closed with events pending) to the server, oldest first, with their "
            "original ids, as the application's next start would. Files of running writers "
            "are left to them. Events the server refuses are kept as dead letters."
        ),
        epilog="example:\n  plumberd spool replay /var/spool/myapp --url 'esdb://db:2113?tls=false'"
        "\n\n"
        + exit_codes_help(
            Exit.OK,
            Exit.USAGE,
            Exit.UNREACHABLE,
            Exit.TIMEOUT,
            Exit.SERVER_ERROR,
            Exit.NOT_FOUND,
            Exit.BUSY,
            notes={
                Exit.OK: "every orphaned event was delivered (or there was none)",
                Exit.TIMEOUT: "not all delivered within --timeout; the rest stays in the spool",
                Exit.SERVER_ERROR: "the server refused some events: kept as dead letters",
                Exit.NOT_FOUND: "PATH is not a directory",
                Exit.BUSY: "every file with events belongs to a running writer",
            },
        ),
        formatter_class=HelpFormatter,
    )
    r.add_argument("path", metavar="PATH", help="the spool directory")
    r.add_argument("--url", help=f"connection string (default: ${URL_VAR})")
    add_timeout(r, DEFAULT_REPLAY_TIMEOUT, "how long to keep sending")
    r.set_defaults(handler=replay)

    e = actions.add_parser(
        "export",
        help="print the pending events (and dead letters) as JSON lines",
        description=(
            "Print every pending event of every file (live and orphaned) as one JSON object "
            "per line: file, seq, status, stream, expected, id, type, data, metadata (decoded "
            "JSON; bodies that are not JSON as data_base64) and spooled_at. With "
            "--dead-letters, dead letters follow with their reason and failed_at. Read-only."
        ),
        epilog="examples:\n"
        "  plumberd spool export /var/spool/myapp | jq -c '{type, stream}'\n"
        "  plumberd spool export /var/spool/myapp --dead-letters --output all.jsonl\n\n"
        + exit_codes_help(
            Exit.OK,
            Exit.FAILURE,
            Exit.USAGE,
            Exit.NOT_FOUND,
            notes={
                Exit.FAILURE: "the output file cannot be written",
                Exit.NOT_FOUND: "PATH is not a directory",
            },
        ),
        formatter_class=HelpFormatter,
    )
    e.add_argument("path", metavar="PATH", help="the spool directory")
    e.add_argument("--dead-letters", action="store_true", help="also export the dead letters")
    e.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    e.set_defaults(handler=export)

    u = actions.add_parser(
        "purge",
        help="delete orphaned spool files (asks first)",
        description=(
            "Delete the orphaned files of a spool directory: their pending events and dead "
            "letters are lost (export them first if in doubt). Asks for confirmation unless "
            "--yes. Files of running writers are never deleted."
        ),
        epilog="example:\n  plumberd spool purge /var/spool/myapp --yes\n\n"
        + exit_codes_help(
            Exit.OK,
            Exit.FAILURE,
            Exit.USAGE,
            Exit.NOT_FOUND,
            Exit.BUSY,
            notes={
                Exit.OK: "the orphaned files were deleted (or there were none)",
                Exit.FAILURE: "not confirmed: nothing deleted",
                Exit.NOT_FOUND: "PATH is not a directory",
                Exit.BUSY: "every file belongs to a running writer: nothing deleted",
            },
        ),
        formatter_class=HelpFormatter,
    )
    u.add_argument("path", metavar="PATH", help="the spool directory")
    u.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    u.set_defaults(handler=purge)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return Exit.USAGE


def _files(path: str) -> list[SpoolFile]:
    if not Path(path).is_dir():
        raise CommandError(Exit.NOT_FOUND, f"no spool at {path}: not a directory")
    return spool_files(path)


def _owners(files: list[SpoolFile]) -> str:
    pids = sorted({f.pid for f in files if f.pid is not None})
    return f"pid {', '.join(map(str, pids))}" if pids else "unknown pid"


# -- status ----------------------------------------------------------------------------------


@command("spool status")
def status(args: argparse.Namespace) -> int:
    files = _files(args.path)
    now = time.time()
    live = [f for f in files if f.live]
    orphaned = [f for f in files if not f.live]
    oldest = min((f.oldest for f in files if f.oldest is not None), default=None)
    summary: dict[str, Any] = {
        "directory": str(args.path),
        "files": len(files),
        "live_files": len(live),
        "orphaned_files": len(orphaned),
        "pending_events": sum(f.pending_events for f in files),
        "pending_bytes": sum(f.pending_bytes for f in files),
        "orphaned_events": sum(f.pending_events for f in orphaned),
        "dead_letters": sum(f.dead_letters for f in files),
        "oldest_age_seconds": None if oldest is None else round(now - oldest, 3),
    }
    if args.json:
        summary["file_list"] = [
            {
                "file": f.path.name,
                "pid": f.pid,
                "live": f.live,
                "pending_events": f.pending_events,
                "pending_bytes": f.pending_bytes,
                "dead_letters": f.dead_letters,
                "oldest_age_seconds": None if f.oldest is None else round(now - f.oldest, 3),
            }
            for f in files
        ]
        print(json.dumps(summary))
        return Exit.OK
    print(f"spool {args.path}")
    print(f"  files           {len(files)} ({len(live)} live, {len(orphaned)} orphaned)")
    pending = f"{summary['pending_events']:,} ({human_bytes(summary['pending_bytes'])})"
    if orphaned and live:
        pending += f", {summary['orphaned_events']:,} of them in orphaned files"
    print(f"  pending events  {pending}")
    print(f"  dead letters    {summary['dead_letters']:,}")
    print(f"  oldest event    {'-' if oldest is None else human_age(now - oldest) + ' ago'}")
    for f in files:
        owner = f"live (pid {f.pid})" if f.live else "orphaned"
        dead = f", {f.dead_letters:,} dead letters" if f.dead_letters else ""
        print(
            f"  {f.path.name}  {owner}  {f.pending_events:,} events "
            f"({human_bytes(f.pending_bytes)}){dead}"
        )
    if summary["orphaned_events"]:
        print(
            f"orphaned events wait for the next writer on this spool, or: "
            f"plumberd spool replay {args.path} --url URL"
        )
    return Exit.OK


# -- replay ----------------------------------------------------------------------------------


@command("spool replay")
def replay(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise CommandError(Exit.USAGE, f"--timeout: expected seconds > 0, got {args.timeout}")
    url = server_url(args.url)
    files = _files(args.path)
    orphaned = [f for f in files if not f.live and f.pending_events]
    busy = [f for f in files if f.live and f.pending_events]
    if not orphaned:
        _tidy(args.path)
        if busy:
            raise CommandError(
                Exit.BUSY,
                f"nothing to replay: the events in {args.path} belong to running writers "
                f"({_owners(busy)}), which send them themselves",
                "stop that process first if it cannot reach the server; its file is then orphaned",
            )
        print(f"nothing to replay: no orphaned events in {args.path}")
        return Exit.OK
    if busy:
        print(
            f"leaving {plural(sum(f.pending_events for f in busy), 'event')} of running "
            f"writers ({_owners(busy)}) to them"
        )
    preflight(url, args.timeout)
    expected = sum(f.pending_events for f in orphaned)
    print(
        f"replaying {plural(expected, 'event')} from {plural(len(orphaned), 'orphaned file')} "
        f"to {shown(url)}"
    )
    sent, dead, left, last_error = _deliver(url, args.path, expected, args.timeout)
    _tidy(args.path)
    refused = f", {dead:,} refused by the server" if dead else ""
    print(f"delivered {plural(sent, 'event')}{refused}")
    if left:
        try:
            preflight(url, min(args.timeout, 5.0))  # why: unreachable now, or just slow?
        except CommandError as exc:
            raise CommandError(
                exc.code,
                f"{plural(left, 'event')} not delivered ({exc.message}); they stay in the spool",
                exc.hint,
            ) from None
        raise CommandError(
            Exit.TIMEOUT,
            f"{plural(left, 'event')} not delivered within {args.timeout:g}s; "
            "they stay in the spool" + (f" (last error: {last_error})" if last_error else ""),
            "run replay again (a larger --timeout?); events already sent are not duplicated",
        )
    if dead:
        raise CommandError(
            Exit.SERVER_ERROR,
            f"the server refused {plural(dead, 'event')} (last error: {last_error}); "
            "they are kept as dead letters",
            f"see them with: plumberd spool export {args.path} --dead-letters",
        )
    return Exit.OK


def _deliver(
    url: str, path: str, expected: int, timeout: float
) -> tuple[int, int, int, str | None]:
    """Adopt the orphaned files with a writer of our own and wait until it has sent them.

    Returns (sent, refused, left in the spool, last error).
    """
    quiet_grpc()
    from plumberd_logging.writer import EventWriter

    writer = EventWriter(url, spool_path=path, linger=0.0, close_timeout=2.0)
    deadline = time.monotonic() + timeout
    idle = threading.Event()
    try:
        with Progress("replaying", expected) as bar:
            while True:
                stats = writer.stats()
                done = stats.sent + sum(stats.dead_lettered.values())
                bar.update(done, max(expected, done + stats.spooled))
                if stats.spooled == 0 or time.monotonic() >= deadline:
                    break
                idle.wait(0.05)  # the writer's own thread does the work; we only watch it
    finally:
        writer.close(2.0)
    stats = writer.stats()
    return stats.sent, sum(stats.dead_lettered.values()), stats.spooled, stats.last_error


def _tidy(path: str) -> None:
    """Remove orphaned files with nothing left in them (e.g. the one replay used)."""
    for f in spool_files(path):
        if not f.live and not f.pending_events and not f.dead_letters:
            remove_orphan(f.path)


# -- export ----------------------------------------------------------------------------------


def record_json(
    record: SpoolRecord, file: str, *, reason: str | None = None, failed_at: float | None = None
) -> dict[str, Any]:
    """The JSON object ``export`` prints for a spooled event (or a dead letter)."""
    event = record.event
    item: dict[str, Any] = {
        "file": file,
        "seq": record.seq,
        "status": "pending" if reason is None else "dead_letter",
        "stream": record.stream,
        "expected": record.expected.value
        if isinstance(record.expected, StreamState)
        else record.expected,
        "id": str(event.id),
        "type": event.type,
        "data": _json_or_none(event.data),
        "metadata": _json_or_none(event.metadata),
        "spooled_at": _iso(record.spooled_at),
    }
    if item["data"] is None and event.data:
        item["data_base64"] = base64.b64encode(event.data).decode("ascii")
    if reason is not None:
        item["reason"] = reason
        item["failed_at"] = _iso(failed_at) if failed_at is not None else None
    return item


def _items(files: list[SpoolFile], dead_letters: bool) -> Iterator[dict[str, Any]]:
    for f in files:
        for record in read_records(f.path):
            yield record_json(record, f.path.name)
    if dead_letters:
        for f in files:
            for letter in read_dead_letters(f.path):
                yield record_json(
                    letter.record, f.path.name, reason=letter.reason, failed_at=letter.failed_at
                )


@command("spool export")
def export(args: argparse.Namespace) -> int:
    files = _files(args.path)
    total = sum(f.pending_events + (f.dead_letters if args.dead_letters else 0) for f in files)
    out: TextIO
    if args.output:
        try:
            out = open(args.output, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CommandError(
                Exit.FAILURE, f"cannot write {args.output}: {exc.strerror}"
            ) from None
    else:
        out = sys.stdout
    counts = {"pending": 0, "dead_letter": 0}
    try:
        with Progress("exporting", total) as bar:
            for item in _items(files, args.dead_letters):
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
                counts[item["status"]] += 1
                bar.update(counts["pending"] + counts["dead_letter"])
        out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    dead = f" and {plural(counts['dead_letter'], 'dead letter')}" if args.dead_letters else ""
    where = f" to {args.output}" if args.output else ""
    print(f"exported {plural(counts['pending'], 'pending event')}{dead}{where}", file=sys.stderr)
    return Exit.OK


# -- purge -----------------------------------------------------------------------------------


@command("spool purge")
def purge(args: argparse.Namespace) -> int:
    files = _files(args.path)
    orphaned = [f for f in files if not f.live]
    live = [f for f in files if f.live]
    if not orphaned:
        if live:
            raise CommandError(
                Exit.BUSY,
                f"nothing purged: every file in {args.path} belongs to a running writer "
                f"({_owners(live)})",
                "purge never deletes a running writer's file; stop the writer first",
            )
        print(f"nothing to purge: no spool files in {args.path}")
        return Exit.OK
    events = sum(f.pending_events for f in orphaned)
    dead = sum(f.dead_letters for f in orphaned)
    size = human_bytes(sum(f.pending_bytes for f in orphaned))
    what = f"{plural(len(orphaned), 'orphaned file')} with {plural(events, 'pending event')}"
    what += f" ({size})" + (f" and {plural(dead, 'dead letter')}" if dead else "")
    if live:
        print(f"keeping {plural(len(live), 'file')} of running writers ({_owners(live)})")
    if not args.yes and not _confirm(f"delete {what}? They will never be sent. [y/N] "):
        print("nothing deleted", file=sys.stderr)
        return Exit.FAILURE
    deleted = skipped = 0
    with Progress("purging", len(orphaned)) as bar:
        for i, f in enumerate(orphaned, 1):
            if remove_orphan(f.path):
                deleted += 1
            else:  # a writer started and took it meanwhile
                skipped += 1
            bar.update(i)
    kept = f" ({skipped} now in use, kept)" if skipped else ""
    print(f"deleted {plural(deleted, 'orphaned file')}{kept}")
    return Exit.OK


def _confirm(question: str) -> bool:
    print(question, end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        answer = ""
    if not answer:
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


# -- helpers ---------------------------------------------------------------------------------


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat().replace("+00:00", "Z")
