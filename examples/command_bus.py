"""``CommandBus``: commands that C# MicroPlumberd handlers execute (golden example G4's shape).

    python examples/command_bus.py            # in-process server unless $PLUMBERD_URL is set

Sends ``StartRecording`` three ways: ``send`` (blocking), ``send_async`` (the event loop keeps
running) and ``queue_async`` (batched by a writer, returns once queued), the last one inside
``caused_by`` so it continues the chain of the first. Prints the session stream and its
``$maxAge``. A C# handler for ``StartRecording`` would run ``Handle(cameraId, cmd)`` for each.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from _demo_server import event_store, show

from plumberd_logging import CommandBus, Event, EventStoreClient, caused_by


class StartRecording(Event):
    """C#: ``record StartRecording { Guid Id; Guid CameraId; string Label; }``."""

    camera_id: UUID
    label: str


async def send_more(bus: CommandBus, camera: UUID, first: StartRecording) -> None:
    await bus.send_async(camera, StartRecording(camera_id=camera, label="side door"))
    with caused_by(first.id):  # e.g. a reaction to the first command
        receipt = await bus.queue_async(camera, StartRecording(camera_id=camera, label="garage"))
    print(f"queued {receipt.event_id}")


def main() -> None:
    camera = uuid4()
    with event_store() as url:
        client = EventStoreClient(url)
        with CommandBus(client, user_id="recorder-service", close_client=False) as bus:
            first = StartRecording(camera_id=camera, label="front door")
            bus.send(camera, first)  # event id = first.id; RecipientId = camera
            asyncio.run(send_more(bus, camera, first))
        # leaving the block delivered the queued command; the client is still open
        print(f"\n{bus.stream_in} stream metadata: {client.get_stream_metadata(bus.stream_in)}")
        client.close()
        show(url, [bus.stream_in])


if __name__ == "__main__":
    main()
