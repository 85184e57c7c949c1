"""The core client: append C#-compatible events, read them back.

    python examples/core_client.py            # in-process server unless $PLUMBERD_URL is set

Writes a ``RecordingFinished`` (golden example G1's shape) to ``Recording-{id}`` and a second,
caused event inside a correlation scope, then prints what the server stored.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from _demo_server import event_store, show

from plumberd_logging import Event, EventStoreClient, StreamName, caused_by


class RecordingFinished(Event):
    """C#: ``record RecordingFinished(string RecordingId, double Duration, string FilePath)``."""

    recording_id: str
    duration: float
    file_path: str


class RecordingArchived(Event):
    recording_id: str
    archive: str


def main() -> None:
    recording = uuid4()
    stream = StreamName("Recording", recording)  # Recording-<lowercase guid>, as C# names it
    with event_store() as url, EventStoreClient(url) as client:
        finished = RecordingFinished(
            recording_id=str(recording), duration=120.5, file_path=f"/recordings/{recording}.mp4"
        )
        client.append_to_stream(stream, finished)  # event id = finished.id, body "Id" too
        [recorded] = client.read_stream(stream)
        with caused_by(recorded):  # continue its chain, as a C# handler would
            client.append_to_stream(
                stream, RecordingArchived(recording_id=str(recording), archive="cold-1")
            )
        show(url, [stream])
        archived = client.read_stream(stream)[1]
        assert archived.metadata["$causationId"] == str(finished.id)
        assert UUID(archived.metadata["$correlationId"]) == finished.id


if __name__ == "__main__":
    main()
