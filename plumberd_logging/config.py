"""The process-wide default writer, used by every entry point that is not given one.

    import plumberd_logging
    plumberd_logging.configure("esdb://localhost:2113?tls=false", linger=0.05)

    @emits(RecordingFinished)          # writes through the default writer
    def finish_recording(...): ...

``configure()`` with no URL reads ``PLUMBERD_URL`` from the environment. When nothing was
configured, the first entry point that needs a writer configures one from the environment, or
raises :class:`~plumberd_logging.errors.PlumberdError` saying what to do.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from plumberd_logging.errors import PlumberdError
from plumberd_logging.writer import EventWriter

__all__ = ["URL_VAR", "configure", "default_writer", "reset_default_writer"]

URL_VAR = "PLUMBERD_URL"

_lock = threading.Lock()
_default: EventWriter | None = None


def configure(url: str | None = None, **writer_options: Any) -> EventWriter:
    """Create the default writer for ``url`` (or ``$PLUMBERD_URL``) and return it.

    ``writer_options`` are :class:`~plumberd_logging.writer.EventWriter` options. A writer
    configured earlier is closed in the background (its queued events are still delivered).
    """
    global _default
    url = url if url is not None else os.environ.get(URL_VAR)
    if not url:
        raise PlumberdError(
            f"configure(): no url given and ${URL_VAR} is not set; pass the connection string, "
            "e.g. configure('esdb://localhost:2113?tls=false')"
        )
    writer = EventWriter(url, **writer_options)
    with _lock:
        old, _default = _default, writer
    if old is not None:
        old.close(timeout=0)
    return writer


def default_writer() -> EventWriter:
    """The default writer; configured from ``$PLUMBERD_URL`` on first use if needed."""
    global _default
    writer = _default
    if writer is not None:
        return writer
    with _lock:
        if _default is None:
            url = os.environ.get(URL_VAR)
            if not url:
                raise PlumberdError(
                    "no writer: call plumberd_logging.configure(url) at start-up, set "
                    f"${URL_VAR}, or pass writer=... explicitly"
                )
            _default = EventWriter(url)
        return _default


def reset_default_writer(*, close: bool = True, timeout: float | None = None) -> None:
    """Forget the default writer (closing it unless ``close=False``); mainly for tests."""
    global _default
    with _lock:
        old, _default = _default, None
    if old is not None and close:
        old.close(timeout)
