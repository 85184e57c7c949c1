"""plumberd-logging: Python events and logs into EventStoreDB/KurrentDB, for C# MicroPlumberd.

    from plumberd_logging import Event, EventStoreClient, StreamName

    class RecordingFinished(Event):
        recording_id: str
        duration: float

    with EventStoreClient("esdb://localhost:2113?tls=false") as client:
        client.append_to_stream(StreamName("Recording", rec_id), RecordingFinished(...))

The public API is re-exported here, lazily: importing the package costs almost nothing (the
pytest plugin lives in it), each name loads its module on first use, and grpc is loaded only
when a client first connects.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from plumberd_logging._version import __version__

if TYPE_CHECKING:
    from plumberd_logging.bootstrap import install, uninstall
    from plumberd_logging.client import EventStoreClient, RecordedEvent
    from plumberd_logging.codec import CONTENT_TYPE, Codec, EncodedEvent, encode
    from plumberd_logging.commands import CommandBus, CommandFailed, CommandTimeout
    from plumberd_logging.config import configure, default_writer
    from plumberd_logging.context import (
        CorrelationContext,
        caused_by,
        context_from,
        correlation,
        current_context,
        use_context,
    )
    from plumberd_logging.emits import emits, emitter_of
    from plumberd_logging.errors import (
        AccessDenied,
        EventTooLarge,
        InvalidEvent,
        NotLeader,
        PlumberdError,
        QueueFull,
        StreamDeleted,
        StreamNotFound,
        TlsError,
        TransientError,
        Unauthenticated,
        Unavailable,
        WriterClosed,
        WrongExpectedVersion,
    )
    from plumberd_logging.events import Event, event_type_of, field
    from plumberd_logging.handler import EventStoreHandler
    from plumberd_logging.metadata import Metadata
    from plumberd_logging.streams import (
        ANY,
        NO_STREAM,
        STREAM_EXISTS,
        StreamName,
        StreamState,
        stream_for,
    )
    from plumberd_logging.structlog import EventStoreProcessor
    from plumberd_logging.writer import EventWriter, Receipt, RetryPolicy, WriterStats


_EXPORTS: dict[str, str] = {
    "ANY": "plumberd_logging.streams",
    "AccessDenied": "plumberd_logging.errors",
    "CONTENT_TYPE": "plumberd_logging.codec",
    "Codec": "plumberd_logging.codec",
    "CommandBus": "plumberd_logging.commands",
    "CommandFailed": "plumberd_logging.commands",
    "CommandTimeout": "plumberd_logging.commands",
    "CorrelationContext": "plumberd_logging.context",
    "EncodedEvent": "plumberd_logging.codec",
    "Event": "plumberd_logging.events",
    "EventStoreClient": "plumberd_logging.client",
    "EventStoreHandler": "plumberd_logging.handler",
    "EventStoreProcessor": "plumberd_logging.structlog",
    "EventTooLarge": "plumberd_logging.errors",
    "EventWriter": "plumberd_logging.writer",
    "InvalidEvent": "plumberd_logging.errors",
    "Metadata": "plumberd_logging.metadata",
    "NO_STREAM": "plumberd_logging.streams",
    "NotLeader": "plumberd_logging.errors",
    "PlumberdError": "plumberd_logging.errors",
    "QueueFull": "plumberd_logging.errors",
    "Receipt": "plumberd_logging.writer",
    "RecordedEvent": "plumberd_logging.client",
    "RetryPolicy": "plumberd_logging.writer",
    "STREAM_EXISTS": "plumberd_logging.streams",
    "StreamDeleted": "plumberd_logging.errors",
    "StreamName": "plumberd_logging.streams",
    "StreamNotFound": "plumberd_logging.errors",
    "StreamState": "plumberd_logging.streams",
    "TlsError": "plumberd_logging.errors",
    "TransientError": "plumberd_logging.errors",
    "Unauthenticated": "plumberd_logging.errors",
    "Unavailable": "plumberd_logging.errors",
    "WriterClosed": "plumberd_logging.errors",
    "WriterStats": "plumberd_logging.writer",
    "WrongExpectedVersion": "plumberd_logging.errors",
    "caused_by": "plumberd_logging.context",
    "configure": "plumberd_logging.config",
    "context_from": "plumberd_logging.context",
    "correlation": "plumberd_logging.context",
    "current_context": "plumberd_logging.context",
    "default_writer": "plumberd_logging.config",
    "emits": "plumberd_logging.emits",
    "emitter_of": "plumberd_logging.emits",
    "encode": "plumberd_logging.codec",
    "event_type_of": "plumberd_logging.events",
    "field": "plumberd_logging.events",
    "install": "plumberd_logging.bootstrap",
    "stream_for": "plumberd_logging.streams",
    "uninstall": "plumberd_logging.bootstrap",
    "use_context": "plumberd_logging.context",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'plumberd_logging' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """Keeps an exported function whose module has its name (``emits``) from being replaced.

    Importing ``plumberd_logging.emits`` sets the package attribute ``emits`` to the module;
    here that attribute stays the ``emits`` decorator, as ``__all__`` promises.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "ANY",
    "CONTENT_TYPE",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AccessDenied",
    "Codec",
    "CommandBus",
    "CommandFailed",
    "CommandTimeout",
    "CorrelationContext",
    "EncodedEvent",
    "Event",
    "EventStoreClient",
    "EventStoreHandler",
    "EventStoreProcessor",
    "EventTooLarge",
    "EventWriter",
    "InvalidEvent",
    "Metadata",
    "NotLeader",
    "PlumberdError",
    "QueueFull",
    "Receipt",
    "RecordedEvent",
    "RetryPolicy",
    "StreamDeleted",
    "StreamName",
    "StreamNotFound",
    "StreamState",
    "TlsError",
    "TransientError",
    "Unauthenticated",
    "Unavailable",
    "WriterClosed",
    "WriterStats",
    "WrongExpectedVersion",
    "__version__",
    "caused_by",
    "configure",
    "context_from",
    "correlation",
    "current_context",
    "default_writer",
    "emits",
    "emitter_of",
    "encode",
    "event_type_of",
    "field",
    "install",
    "stream_for",
    "uninstall",
    "use_context",
]
