"""The optional C accelerator: ``speedups`` is ``plumberd_logging._speedups``, or ``None``.

    from plumberd_logging._accel import speedups
    id_text = speedups.uuid_text if speedups is not None else _id_text  # the Python twin

The extension is built at install when a C compiler is there; each function it has is also
written in Python next to the code that uses it (the reference: same bytes, only slower).
``PLUMBERD_PURE_PYTHON=1`` in the environment runs the Python twins even when it is built.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol, cast
from uuid import UUID

if TYPE_CHECKING:
    from datetime import datetime

    from plumberd_logging.codec import EncodedEvent

__all__ = ["PURE_PYTHON", "speedups"]

#: True when the Python twins were asked for (``PLUMBERD_PURE_PYTHON`` set, not ``0``).
PURE_PYTHON = os.environ.get("PLUMBERD_PURE_PYTHON", "") not in ("", "0")


class Speedups(Protocol):
    """What ``_speedups.c`` provides (each function's Python twin names it in its docstring)."""

    def uuid_text(self, value: UUID, /) -> str: ...
    def new_uuids(self, raw: bytes, /) -> list[UUID]: ...
    def log_json(
        self,
        payload: object,
        event_id: str,
        service: str,
        host: str,
        cached: tuple[int | None, str, str],
        /,
    ) -> bytes | None: ...
    def structlog_json(
        self,
        payload: object,
        event_id: str,
        service: str,
        host: str,
        cached: tuple[int | None, str, str],
        pid: int,
        skip: frozenset[str],
        /,
    ) -> bytes | None: ...
    def object_json(
        self,
        obj: object,
        keys: tuple[str, ...],
        fields: tuple[tuple[bytes, int, bool, bool] | None, ...],
        id_text: str,
        /,
    ) -> bytes | None: ...
    def object_event(
        self,
        obj: object,
        keys: tuple[str, ...],
        fields: tuple[tuple[bytes, int, bool, bool] | None, ...],
        id_text: str,
        id: UUID,
        event_type: str,
        created: float | datetime | None,
        cached: tuple[int | None, str, str],
        host: str | None,
        context: object,
        encoded: type[tuple[Any, ...]],
        /,
    ) -> tuple[Any, ...] | bytes | None: ...
    def standard_json(
        self,
        id_text: str,
        created: float | None,
        cached: tuple[int | None, str, str],
        host: str,
        context: object,
        /,
    ) -> bytes | None: ...
    def float_json(self, value: float, /) -> str | None: ...
    def untrack(self, value: object, /) -> None: ...
    def track(self, value: object, /) -> None: ...
    def format_stamp(
        self, timestamp: float, cached: tuple[int | None, str, str], /
    ) -> str | None: ...
    def metadata_json(
        self,
        event_id: str,
        created: float,
        cached: tuple[int | None, str, str],
        host: str,
        correlation: str | None,
        causation: str | None,
        /,
    ) -> bytes | None: ...
    def proposed_messages(
        self,
        events: Sequence[EncodedEvent],
        type_maps: dict[str, bytes],
        type_map: Callable[[str], bytes],
        head: bytes,
        tail: bytes,
        /,
    ) -> bytes: ...
    def append_records(
        self,
        events: Sequence[EncodedEvent],
        schemas: dict[str, bytes],
        schema: Callable[[str], bytes],
        properties: Callable[[bytes], bytes],
        head: bytes,
        tail: bytes,
        /,
    ) -> bytes: ...


def _load() -> Speedups | None:
    if PURE_PYTHON:
        return None
    try:
        module = import_module("plumberd_logging._speedups")
    except ImportError:  # not built (no compiler at install): the Python twins run
        return None
    return cast(Speedups, module)  # its functions: the protocol above


speedups = _load()
