"""Configuration: the process-wide default writer, and settings from the environment.

    import plumberd_logging
    plumberd_logging.configure("esdb://localhost:2113?tls=false", linger=0.05)

    @emits(RecordingFinished)          # writes through the default writer
    def finish_recording(...): ...

``configure()`` with no URL reads ``PLUMBERD_URL``; every writer option also has an environment
variable (:data:`ENVIRONMENT`), used as a default that explicit arguments override. When
nothing was configured, the first entry point that needs a writer configures one from the
environment, or raises :class:`~plumberd_logging.errors.PlumberdError` saying what to do.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from plumberd_logging._options import as_bool, non_negative_seconds, positive_int
from plumberd_logging.errors import PlumberdError
from plumberd_logging.writer import EventWriter

__all__ = [
    "ENVIRONMENT",
    "URL_VAR",
    "EnvVar",
    "Settings",
    "configure",
    "configured_writer",
    "default_writer",
    "reset_default_writer",
    "settings_from_env",
]

URL_VAR = "PLUMBERD_URL"


#: The name the shared validators (``_options``) are given here; settings_from_env() replaces
#: it with the variable's name and value.
_VALUE = "value"


def _bool(text: str) -> bool:
    return as_bool(text, _VALUE)


def _level(text: str) -> int:
    value = text.strip().upper()
    if value.isdigit():
        return int(value)
    level = logging.getLevelName(value)
    if not isinstance(level, int):
        raise ValueError("expected a level name such as INFO or a number")
    return level


def _positive_int(text: str) -> int:
    return positive_int(text, _VALUE)


def _seconds(text: str) -> float:
    return non_negative_seconds(text, _VALUE)


@dataclasses.dataclass(frozen=True)
class EnvVar:
    """One environment variable: its name, the option it sets, how it is parsed, its meaning."""

    name: str
    option: str
    parse: Callable[[str], Any]
    default: str
    help: str


#: Every variable plumberd-logging reads (the README's configuration table is this list).
ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar(URL_VAR, "url", str, "(none)", "connection string, e.g. esdb://host:2113?tls=false"),
    EnvVar(
        "PLUMBERD_SERVICE", "service", str, "program name", "service name; logs go to Log-{service}"
    ),
    EnvVar("PLUMBERD_LEVEL", "level", _level, "INFO", "level of the handler install() attaches"),
    EnvVar(
        "PLUMBERD_CAPTURE_LOGS",
        "capture_logs",
        _bool,
        "false",
        "every record becomes a LogRecorded event",
    ),
    EnvVar(
        "PLUMBERD_SPOOL", "spool_path", str, "(none)", "spool directory: events survive a crash"
    ),
    EnvVar(
        "PLUMBERD_SPOOL_MAX_BYTES",
        "spool_max_bytes",
        _positive_int,
        "268435456",
        "spool size bound",
    ),
    EnvVar(
        "PLUMBERD_MAX_BATCH_EVENTS", "max_batch_events", _positive_int, "1000", "events per append"
    ),
    EnvVar(
        "PLUMBERD_MAX_BATCH_BYTES", "max_batch_bytes", _positive_int, "524288", "bytes per append"
    ),
    EnvVar("PLUMBERD_LINGER", "linger", _seconds, "0.1", "seconds a batch waits to fill"),
    EnvVar(
        "PLUMBERD_MAX_QUEUE_EVENTS",
        "max_queue_events",
        _positive_int,
        "10000",
        "queue bound (events)",
    ),
    EnvVar(
        "PLUMBERD_MAX_QUEUE_BYTES",
        "max_queue_bytes",
        _positive_int,
        "16777216",
        "queue bound (bytes)",
    ),
    EnvVar(
        "PLUMBERD_OVERFLOW", "overflow", str, "block", "block, drop_newest, drop_oldest or spool"
    ),
    EnvVar(
        "PLUMBERD_BLOCK_TIMEOUT", "block_timeout", _seconds, "5", "seconds overflow=block waits"
    ),
    EnvVar("PLUMBERD_APPEND_TIMEOUT", "append_timeout", _seconds, "10", "deadline of one append"),
    EnvVar("PLUMBERD_CLOSE_TIMEOUT", "close_timeout", _seconds, "5", "seconds to deliver at exit"),
    EnvVar(
        "PLUMBERD_HANDLE_SIGTERM",
        "handle_sigterm",
        _bool,
        "true",
        "on SIGTERM (no handler of the app's own): deliver, then end as SIGTERM would",
    ),
)
_HANDLER_OPTIONS = frozenset({"url", "service", "level", "capture_logs"})


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the environment says (see :data:`ENVIRONMENT`); unset variables are absent."""

    url: str | None = None
    service: str | None = None
    level: int = logging.INFO
    capture_logs: bool = False
    writer_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the ``PLUMBERD_*`` variables; a bad value raises ``ValueError`` naming the variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var in ENVIRONMENT:
        text = env.get(var.name)
        if text is None or text == "":
            continue
        try:
            values[var.option] = var.parse(text)
        except ValueError as exc:
            reason = str(exc).removeprefix(f"{_VALUE}: ")
            if "expected" not in reason:
                reason = f"cannot parse: {reason}"
            raise ValueError(f"${var.name}={text!r}: {reason} ({var.help})") from None
    writer_options = {k: v for k, v in values.items() if k not in _HANDLER_OPTIONS}
    return Settings(
        url=values.get("url"),
        service=values.get("service"),
        level=values.get("level", logging.INFO),
        capture_logs=values.get("capture_logs", False),
        writer_options=writer_options,
    )


_lock = threading.Lock()
_default: EventWriter | None = None


def configure(url: str | None = None, **writer_options: Any) -> EventWriter:
    """Create the default writer for ``url`` (or ``$PLUMBERD_URL``) and return it.

    ``writer_options`` are :class:`~plumberd_logging.writer.EventWriter` options; the
    ``PLUMBERD_*`` variables give their defaults. A writer configured earlier is closed in the
    background (its queued events are still delivered).
    """
    global _default
    writer = _writer_from(url, writer_options)
    with _lock:
        old, _default = _default, writer
    if old is not None:
        old.close(timeout=0)
    return writer


def default_writer() -> EventWriter:
    """The default writer; configured from the environment on first use if needed."""
    global _default
    writer = _default
    if writer is not None:
        return writer
    with _lock:
        if _default is None:
            _default = _writer_from(None, {})
        return _default


def configured_writer() -> EventWriter | None:
    """The default writer if one exists; unlike :func:`default_writer` never creates one."""
    return _default


def reset_default_writer(*, close: bool = True, timeout: float | None = None) -> None:
    """Forget the default writer (closing it unless ``close=False``); mainly for tests."""
    global _default
    with _lock:
        old, _default = _default, None
    if old is not None and close:
        old.close(timeout)


def _writer_from(url: str | None, options: Mapping[str, Any]) -> EventWriter:
    settings = settings_from_env()
    url = url if url is not None else settings.url
    if not url:
        raise PlumberdError(
            f"no writer: call plumberd_logging.configure(url) at start-up, set ${URL_VAR} "
            "(e.g. esdb://localhost:2113?tls=false), or pass writer=... explicitly"
        )
    return EventWriter(url, **{**settings.writer_options, **options})
