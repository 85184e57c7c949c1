"""``@emits``: domain functions that say what they emit, and the causation chain they form.

    python examples/emits_example.py          # in-process server unless $PLUMBERD_URL is set

``start_recording`` (sync) calls ``prepare_camera`` (async, awaited in a task) and both emit an
event; a failing call emits ``RecordingFailed`` through ``on_error``. The printout shows each
event with its ``$correlationId`` / ``$causationId``: the nested event is caused by the outer call's
event, and all share the root's correlation id.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from _demo_server import event_store, show

from plumberd_logging import Event, configure, emits
from plumberd_logging.config import reset_default_writer


class RecordingStarted(Event, category="Recording", stream_id_field="recording_id"):
    recording_id: UUID
    camera_id: UUID
    label: str


class CameraPrepared(Event):
    camera_id: UUID
    exposure: float


class RecordingFailed(Event, category="Recording", stream_id_field="recording_id"):
    recording_id: UUID
    error_type: str
    error_message: str


@emits(CameraPrepared, stream="Camera-{camera_id}")  # a template from the arguments
async def prepare_camera(camera_id: UUID) -> dict[str, float]:
    await asyncio.sleep(0)
    return {"exposure": 0.25}  # a returned mapping fills the remaining fields


@emits(RecordingStarted, on_error=RecordingFailed)  # the class's stream rule: Recording-{id}
def start_recording(recording_id: UUID, camera_id: UUID, label: str) -> str:
    if not label:
        raise ValueError("a recording needs a label")
    asyncio.run(prepare_camera(camera_id))  # nested: caused by RecordingStarted
    return f"recording {recording_id} started"


def main() -> None:
    camera, ok, failed = uuid4(), uuid4(), uuid4()
    with event_store() as url:
        writer = configure(url)  # decorating above happened before this: that's fine
        try:
            print(start_recording(ok, camera, "front door"))
            try:
                start_recording(failed, camera, "")
            except ValueError as exc:
                print(f"start_recording raised, unchanged: {exc!r}")
            assert writer.flush(10)
            show(url, [f"Recording-{ok}", f"Camera-{camera}", f"Recording-{failed}"])
        finally:
            reset_default_writer()


if __name__ == "__main__":
    main()
