"""plumberd-logging: Python events and logs into EventStoreDB/KurrentDB, for C# MicroPlumberd.

    from plumberd_logging import Event, EventStoreClient, StreamName

    class RecordingFinished(Event):
        recording_id: str
        duration: float

    with EventStoreClient("esdb://localhost:2113?tls=false") as client:
        client.append_to_stream(StreamName("Recording", rec_id), RecordingFinished(...))

The public API is re-exported here. Importing this package does not import grpc: the transport
is loaded when a client first connects.
"""

from __future__ import annotations

from plumberd_logging._version import __version__
from plumberd_logging.client import EventStoreClient, RecordedEvent
from plumberd_logging.codec import CONTENT_TYPE, Codec, EncodedEvent, encode
from plumberd_logging.config import configure, default_writer
from plumberd_logging.context import CorrelationContext, caused_by, correlation, current_context
from plumberd_logging.errors import (
    AccessDenied,
    EventTooLarge,
    InvalidEvent,
    PlumberdError,
    QueueFull,
    StreamDeleted,
    StreamNotFound,
    TransientError,
    Unavailable,
    WriterClosed,
    WrongExpectedVersion,
)
from plumberd_logging.events import Event, event_type_of, field
from plumberd_logging.metadata import Metadata
from plumberd_logging.streams import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    StreamName,
    StreamState,
    stream_for,
)
from plumberd_logging.writer import EventWriter, Receipt, RetryPolicy, WriterStats

__all__ = [
    "ANY",
    "CONTENT_TYPE",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AccessDenied",
    "Codec",
    "CorrelationContext",
    "EncodedEvent",
    "Event",
    "EventStoreClient",
    "EventTooLarge",
    "EventWriter",
    "InvalidEvent",
    "Metadata",
    "PlumberdError",
    "QueueFull",
    "Receipt",
    "RecordedEvent",
    "RetryPolicy",
    "StreamDeleted",
    "StreamName",
    "StreamNotFound",
    "StreamState",
    "TransientError",
    "Unavailable",
    "WriterClosed",
    "WriterStats",
    "WrongExpectedVersion",
    "__version__",
    "caused_by",
    "configure",
    "correlation",
    "current_context",
    "default_writer",
    "encode",
    "event_type_of",
    "field",
    "stream_for",
]
