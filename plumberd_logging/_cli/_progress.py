"""A progress bar for long ``plumberd`` operations: on a terminal only, stdlib only.

    with Progress("replaying", total=12_000) as bar:
        for ...:
            bar.update(done)

It draws a ``\\r`` line on stderr when stderr is a terminal, at most ten times a second, and
erases it at the end; when stderr is not a terminal (a pipe, a file, CI) it draws nothing.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]

_WIDTH = 30
_INTERVAL = 0.1


class Progress:
    """A ``label [#####-----] done/total`` line on ``stream`` (stderr) if it is a terminal."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(0, total)
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._active = _is_tty(self._stream)
        self._last = 0.0
        self._drawn = 0

    @property
    def active(self) -> bool:
        """Whether the bar is drawn (the stream is a terminal)."""
        return self._active

    def update(self, done: int, total: int | None = None) -> None:
        """Set the progress; redraws at most every 0.1 s (and always on completion)."""
        if total is not None:
            self.total = max(0, total)
        self.done = min(max(0, done), self.total) if self.total else max(0, done)
        if not self._active:
            return
        now = time.monotonic()
        if now - self._last < _INTERVAL and self.done < self.total:
            return
        self._last = now
        self._draw()

    def close(self) -> None:
        """Erase the bar (the caller prints its own summary)."""
        if self._active and self._drawn:
            self._write("\r" + " " * self._drawn + "\r")
            self._drawn = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _draw(self) -> None:
        if self.total:
            filled = _WIDTH * self.done // self.total
            bar = "#" * filled + "-" * (_WIDTH - filled)
            line = f"{self.label} [{bar}] {self.done:,}/{self.total:,}"
        else:
            line = f"{self.label} {self.done:,}"
        pad = max(0, self._drawn - len(line))
        self._write("\r" + line + " " * pad)
        self._drawn = len(line)

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self._active = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
