"""Events shared by the ``@emits`` tests."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from plumberd_logging import Event, EventWriter
from plumberd_logging.testing import InMemoryEventStore, StoredEvent


class RecordingFinished(Event, category="Recording", stream_id_field="recording_id"):
    recording_id: str
    duration: float
    file_path: str


class RecordingFailed(Event):
    recording_id: str
    error_type: str
    error_message: str


class CameraMoved(Event):
    camera_id: UUID
    pan: int = 0


class Note(Event):
    text: str


def stored(store: InMemoryEventStore, writer: EventWriter, stream: str) -> list[StoredEvent]:
    """The events of ``stream`` once everything submitted so far is resolved."""
    assert writer.flush(5)
    return store.events(stream)


def body(event: StoredEvent) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.data)
    return data


def meta(event: StoredEvent) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.metadata)
    return data
