"""A legacy program that knows nothing about plumberd-logging (it imports nothing of ours).

It logs the way many old programs do: ``basicConfig`` and module loggers, plus a few records
tagged with ``extra`` so that they become MicroPlumberd events when the program runs under

    plumberd run --url 'esdb://localhost:2113?tls=false' --capture-logs -- python app.py

Run on its own (``python app.py``) it behaves exactly the same, minus the events.
"""

import logging
import sys

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("legacy.recorder")


def main() -> int:
    log.info("starting recorder on camera %s", 7)
    print("recording...")
    log.info(
        "recording finished",
        extra={
            "event_type": "RecordingFinished",
            "event_data": {"RecordingId": "rec-1", "Duration": 12.5},
            "stream": "Recording-rec-1",
        },
    )
    log.warning("disk almost full")
    return 3  # a legacy exit code the caller relies on


if __name__ == "__main__":
    sys.exit(main())
