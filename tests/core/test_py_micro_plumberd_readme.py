"""The py-micro-plumberd 0.1.9 README examples, with only the import line changed.

Their events are declared the README way (attributes set in ``__init__``), which 0.1.9 itself
writes in snake_case; here they come out PascalCase, with the EventStore event id equal to the
body's ``Id``.
"""

from __future__ import annotations

import json

from plumberd_logging.testing import InMemoryEventStore


def test_recording_finished_example(eventstore: InMemoryEventStore) -> None:
    # -- README "Quick Start", verbatim except the import and the URL ----------------------------
    from plumberd_logging import Event, EventStoreClient, StreamName

    class RecordingFinished(Event):
        def __init__(self, recording_id: str, duration: float, file_path: str):
            super().__init__()
            self.recording_id = recording_id
            self.duration = duration
            self.file_path = file_path

    client = EventStoreClient(eventstore.url)
    event = RecordingFinished(
        recording_id="rec-123", duration=120.5, file_path="/recordings/rec-123.mp4"
    )
    stream = StreamName(category="Recording", stream_id="b27f9322-7d73-4d98-a605-a731a2c373c6")
    client.append_to_stream(stream, event)
    # ------------------------------------------------------------------------------------------
    client.close()
    [stored] = eventstore.events("Recording-b27f9322-7d73-4d98-a605-a731a2c373c6")
    assert stored.type == "RecordingFinished"
    assert stored.json() == {
        "Id": str(stored.id),
        "RecordingId": "rec-123",
        "Duration": 120.5,
        "FilePath": "/recordings/rec-123.mp4",
    }
    assert stored.id == event.id
    meta = stored.metadata_json()
    assert {"Created", "ClientHostName", "$correlationId", "$causationId"} <= meta.keys()


def test_task_management_example(eventstore: InMemoryEventStore, capsys: object) -> None:
    # -- README "Complete Example: Task Management System" --------------------------------------
    from plumberd_logging import Event, EventStoreClient, StreamName

    class TaskCreated(Event):
        def __init__(self, title: str, description: str):
            super().__init__()
            self.title = title
            self.description = description

    class TaskCompleted(Event):
        def __init__(self, completed_by: str, completion_notes: str = None):  # type: ignore[assignment]  # noqa: RUF013 - the README's own code
            super().__init__()
            self.completed_by = completed_by
            self.completion_notes = completion_notes

    def main() -> None:
        client = EventStoreClient(eventstore.url)
        task_id = "7d73-4d98-a605-a731a2c373c6"
        stream = StreamName(category="Task", stream_id=task_id)
        created_event = TaskCreated(
            title="Implement py-micro-plumberd",
            description="Create Python version of micro-plumberd",
        )
        client.append_to_stream(stream, created_event)
        completed_event = TaskCompleted(
            completed_by="developer@example.com",
            completion_notes="Successfully implemented core functionality",
        )
        client.append_to_stream(stream, completed_event)
        print(f"Events written to stream: {stream}")
        client.close()

    main()
    # ------------------------------------------------------------------------------------------
    events = eventstore.events("Task-7d73-4d98-a605-a731a2c373c6")
    assert [e.type for e in events] == ["TaskCreated", "TaskCompleted"]
    assert events[0].json() == {
        "Id": str(events[0].id),
        "Title": "Implement py-micro-plumberd",
        "Description": "Create Python version of micro-plumberd",
    }
    assert json.loads(events[1].data)["CompletedBy"] == "developer@example.com"
    assert all(json.loads(e.data)["Id"] == str(e.id) for e in events)
