"""``install()``: attach plumberd-logging to an application's logging in one line.

    import plumberd_logging
    plumberd_logging.install()            # PLUMBERD_URL, PLUMBERD_LEVEL, ... from the environment
    plumberd_logging.install("esdb://localhost:2113?tls=false", capture_logs=True)

``install`` configures the default writer, attaches an :class:`EventStoreHandler` to the root
logger and keeps the application's own logging behaving as before:

* records below the application's level still reach only our handler: when the root level has
  to be lowered to ``level``, the root's other handlers keep the old level as their threshold;
* when the root logger had no handler, warnings still reach stderr as they did (Python's
  "last resort" handler would otherwise stop printing them once ours is attached);
* a later ``logging.basicConfig``, ``dictConfig`` or ``fileConfig`` by the application still
  works (ours is not counted as "already configured") and ours stays attached afterwards.

``plumberd run -- python app.py`` calls ``install()`` in the child through ``sitecustomize``.
"""

from __future__ import annotations

import functools
import logging
import logging.config
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from plumberd_logging.config import configure, settings_from_env
from plumberd_logging.handler import EventStoreHandler, warn_level_blocks

__all__ = ["install", "uninstall"]

_F = TypeVar("_F", bound=Callable[..., Any])
_lock = threading.RLock()
_installed: EventStoreHandler | None = None
_level = logging.INFO
_originals: dict[str, Callable[..., Any]] = {}
#: What install() changed, to put back in uninstall(): (old, new) root level, and handlers
#: whose level it raised from NOTSET (with the level it gave them).
_root_level: tuple[int, int] | None = None
_raised: list[tuple[logging.Handler, int]] = []


def install(
    url: str | None = None,
    *,
    level: int | str | None = None,
    capture_logs: bool | None = None,
    service: str | None = None,
    **writer_options: Any,
) -> EventStoreHandler:
    """Configure the default writer and attach a handler to the root logger; returns it.

    Unset arguments come from the environment (``PLUMBERD_URL``, ``PLUMBERD_LEVEL``,
    ``PLUMBERD_CAPTURE_LOGS``, ``PLUMBERD_SERVICE`` and the writer's variables). Calling it again
    replaces the earlier installation. When the root logger's level would still keep records
    from the handler, one stderr line says so.
    """
    global _installed, _level
    settings = settings_from_env()
    writer = configure(url, **writer_options)
    resolved = logging._checkLevel(level) if level is not None else settings.level  # type: ignore[attr-defined]
    handler = EventStoreHandler(
        writer=writer,
        level=resolved,
        capture_logs=settings.capture_logs if capture_logs is None else capture_logs,
        service=service if service is not None else settings.service,
    )
    with _lock:
        uninstall()
        _installed, _level = handler, resolved
        _attach()
        _patch_configurators()
    warn_level_blocks(handler)
    return handler


def uninstall() -> None:
    """Undo :func:`install`: detach its handler (closing it), put back the root level and the
    handler levels it changed (unless the application changed them since) and the original
    ``basicConfig``/``dictConfig``/``fileConfig``. Handlers it did not add are left alone; the
    default writer stays configured."""
    global _installed, _root_level
    with _lock:
        handler, _installed = _installed, None
        _unpatch_configurators()
        if handler is None:
            return
        _detach(handler)
        root = logging.getLogger()
        for other, given in _raised:
            if other.level == given:
                other.setLevel(logging.NOTSET)
        _raised.clear()
        if _root_level is not None and root.level == _root_level[1]:
            root.setLevel(_root_level[0])
        _root_level = None
        handler.close()


class _LastResort(logging.Handler):
    """Python's last-resort stderr output for records no other handler takes.

    Attaching our handler to a root logger that had none would otherwise silence it, and a
    legacy application's warnings would stop appearing on stderr.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(h is not _installed and h is not self for h in logger.handlers):
                return  # someone else handles it, as without us
            if not logger.propagate:
                break
            logger = logger.parent
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            last.handle(record)


_fallback = _LastResort()


def _attach() -> None:
    """Attach ours to the root logger without changing what the application's handlers do."""
    global _root_level
    handler = _installed
    if handler is None:
        return
    root = logging.getLogger()
    others = [h for h in root.handlers if h is not handler and h is not _fallback]
    effective = root.getEffectiveLevel()
    if effective > _level:
        for other in others:  # they keep seeing exactly what they saw before
            if other.level == logging.NOTSET:
                other.setLevel(effective)
                _raised.append((other, effective))
        _root_level = (root.level, _level)
        root.setLevel(_level)
    if handler not in root.handlers:
        root.addHandler(handler)
    if not others and _fallback not in root.handlers:
        root.addHandler(_fallback)


def _detach(handler: logging.Handler | None) -> None:
    """Remove what we added (our handler, the last-resort stand-in); nothing else."""
    root = logging.getLogger()
    for h in (handler, _fallback):
        if h is not None and h in root.handlers:
            root.removeHandler(h)


def _reattaching(name: str, fn: _F) -> _F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            _detach(_installed)  # so basicConfig does not take ours for the app's configuration
            try:
                return fn(*args, **kwargs)
            finally:
                _attach()

    wrapper.__plumberd_original__ = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


_TARGETS = (
    (logging, "basicConfig"),
    (logging.config, "dictConfig"),
    (logging.config, "fileConfig"),
)


def _patch_configurators() -> None:
    for module, name in _TARGETS:
        current = getattr(module, name)
        if not hasattr(current, "__plumberd_original__"):
            _originals[f"{module.__name__}.{name}"] = current
            setattr(module, name, _reattaching(name, current))


def _unpatch_configurators() -> None:
    """Put the originals back, unless someone replaced our wrapper since (then it stays theirs)."""
    for module, name in _TARGETS:
        original = _originals.pop(f"{module.__name__}.{name}", None)
        current = getattr(module, name)
        if original is not None and getattr(current, "__plumberd_original__", None) is original:
            setattr(module, name, original)
