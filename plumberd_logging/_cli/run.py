"""``plumberd run``: start an unmodified program with its logging attached to the event store.

    plumberd run --url 'esdb://localhost:2113?tls=false' -- python app.py --port 80

The program is started with ``plumberd_logging/_autostart`` first on its ``PYTHONPATH``; its
``sitecustomize`` calls :func:`plumberd_logging.install` before the program's first line (the way
``opentelemetry-instrument`` works). Every log record becomes a ``LogRecorded`` event
(``--tagged-only``: only records tagged with an event). The URL and every option are checked
before the program starts (exit 2); then the command *becomes* the program (``exec``), so its
exit code, stdout, stderr and signals are the program's own; the writer flushes at its exit.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
from pathlib import Path

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    command,
    exit_codes_help,
    server_url,
)
from plumberd_logging.config import URL_VAR

__all__ = ["add_parser", "autostart_dir", "child_environment", "run"]

EPILOG = f"""examples:
  plumberd run --url 'esdb://localhost:2113?tls=false' -- python app.py --its --args
  PLUMBERD_SERVICE=myapp plumberd run -- python app.py     # with $PLUMBERD_URL set
  plumberd run --tagged-only -- python app.py               # only records tagged with an event

{
    exit_codes_help(
        Exit.USAGE,
        Exit.CANNOT_EXECUTE,
        Exit.PROGRAM_NOT_FOUND,
        notes={Exit.USAGE: "bad arguments, no URL or a bad URL: the program was not started"},
    )
}
  otherwise the program's own exit code"""


def autostart_dir() -> str:
    """The directory whose ``sitecustomize.py`` attaches plumberd-logging at start-up."""
    return str(Path(__file__).resolve().parent.parent / "_autostart")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a program with its logging sent to the event store (no code change)",
        description=(
            "Start PROGRAM with plumberd-logging attached to its standard logging: every log "
            "record becomes a LogRecorded event in Log-{service}, and records tagged with "
            "extra={'event_type': ..., 'event_data': ..., 'stream': ...} become those events. "
            "The program's exit code, output and signals are its own."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--url", help=f"connection string (default: ${URL_VAR})")
    capture = p.add_mutually_exclusive_group()
    capture.add_argument(
        "--tagged-only",
        action="store_true",
        help="send only records tagged with an event, not every log record",
    )
    capture.add_argument(
        "--capture-logs",
        action="store_true",
        help="send every log record as a LogRecorded event (the default)",
    )
    p.add_argument("--level", help="lowest level sent (default: $PLUMBERD_LEVEL or INFO)")
    p.add_argument("--service", help="service name for Log-{service} (default: the program's name)")
    p.add_argument("program", nargs=argparse.REMAINDER, help="-- the command to run")
    p.set_defaults(handler=run)


def child_environment(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    """The environment of the program: ours first on PYTHONPATH, the options as variables.

    Every record is captured unless ``--tagged-only`` or ``$PLUMBERD_CAPTURE_LOGS`` says otherwise.
    """
    env = dict(environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = autostart_dir() + (os.pathsep + path if path else "")
    if args.url:
        env[URL_VAR] = args.url
    if args.tagged_only:
        env["PLUMBERD_CAPTURE_LOGS"] = "false"
    elif args.capture_logs or not env.get("PLUMBERD_CAPTURE_LOGS"):
        env["PLUMBERD_CAPTURE_LOGS"] = "true"
    if args.level:
        env["PLUMBERD_LEVEL"] = args.level
    if args.service:
        env["PLUMBERD_SERVICE"] = args.service
    return env


@command("run")
def run(args: argparse.Namespace) -> int:
    program = list(args.program)
    if program and program[0] == "--":
        program = program[1:]
    if not program:
        raise CommandError(Exit.USAGE, "no program given (plumberd run [options] -- python app.py)")
    env = child_environment(args, dict(os.environ))
    server_url(env.get(URL_VAR), option="--url")  # no URL or a bad one: exit 2, nothing started
    from plumberd_logging.config import settings_from_env

    try:
        settings_from_env(env)
    except ValueError as exc:
        raise CommandError(Exit.USAGE, _as_option(str(exc), args)) from None
    executable = _executable(program[0], env.get("PATH"))
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name != "posix":  # pragma: no cover - platforms without exec semantics
        import subprocess

        return subprocess.call([executable, *program[1:]], env=env)
    try:
        os.execve(executable, program, env)  # never returns: the program takes over
    except OSError as exc:
        raise _exec_failure(program[0], executable, exc) from None


_ENV_OPTIONS = {"PLUMBERD_LEVEL": "level", "PLUMBERD_SERVICE": "service"}


def _as_option(message: str, args: argparse.Namespace) -> str:
    """A settings error about a variable that an option set, told as that option's error."""
    for var, option in _ENV_OPTIONS.items():
        value = getattr(args, option)
        if value and message.startswith(f"${var}="):
            reason = message.split(": ", 1)[1].rsplit(" (", 1)[0]
            return f"--{option} {value!r}: {reason}"
    return message


def _executable(name: str, path: str | None) -> str:
    """The file ``exec`` will start; a missing or non-executable one is exit 127 / 126."""
    found = shutil.which(name, path=path)
    if found is not None:
        return found
    candidates = [Path(name)] if os.sep in name else []
    if not candidates:
        candidates = [Path(d) / name for d in (path or os.defpath).split(os.pathsep) if d]
    for candidate in candidates:
        if candidate.is_dir():
            raise CommandError(Exit.CANNOT_EXECUTE, f"{name!r} is a directory, not a program")
        if candidate.exists():
            raise CommandError(
                Exit.CANNOT_EXECUTE,
                f"{name!r} is not executable (chmod +x {candidate}, or start it with its "
                "interpreter)",
            )
    raise CommandError(Exit.PROGRAM_NOT_FOUND, f"{name!r} not found")


def _exec_failure(name: str, executable: str, exc: OSError) -> CommandError:
    """Why the system refused to start an executable file (exit 126, as a shell says)."""
    if exc.errno == errno.ENOEXEC:
        reason = "not a program the system can start (a script needs a #! line)"
    elif exc.errno == errno.ENOENT:
        reason = f"its interpreter {_interpreter(executable)!r} was not found"
    else:
        reason = exc.strerror or str(exc)
    return CommandError(Exit.CANNOT_EXECUTE, f"cannot execute {name!r}: {reason}")


def _interpreter(executable: str) -> str:
    """The interpreter a script's ``#!`` line names (``'?'`` when unreadable)."""
    try:
        with open(executable, "rb") as f:
            first = f.readline(256)
    except OSError:
        return "?"
    if not first.startswith(b"#!"):
        return "?"
    return first[2:].decode(errors="replace").strip().split(" ")[0] or "?"
