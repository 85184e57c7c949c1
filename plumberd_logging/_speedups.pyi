from collections.abc import Callable, Sequence
from uuid import UUID

from plumberd_logging.codec import EncodedEvent

def uuid_text(value: UUID, /) -> str: ...
def new_uuids(raw: bytes, /) -> list[UUID]: ...
def log_json(
    payload: object,
    event_id: str,
    service: str,
    host: str,
    cached: tuple[int | None, str, str],
    /,
) -> bytes | None: ...
def structlog_json(
    payload: object,
    event_id: str,
    service: str,
    host: str,
    cached: tuple[int | None, str, str],
    pid: int,
    skip: frozenset[str],
    /,
) -> bytes | None: ...
def untrack(value: object, /) -> None: ...
def track(value: object, /) -> None: ...
def format_stamp(timestamp: float, cached: tuple[int | None, str, str], /) -> str | None: ...
def metadata_json(
    event_id: str,
    created: float,
    cached: tuple[int | None, str, str],
    host: str,
    correlation: str | None,
    causation: str | None,
    /,
) -> bytes | None: ...
def proposed_messages(
    events: Sequence[EncodedEvent],
    type_maps: dict[str, bytes],
    type_map: Callable[[str], bytes],
    head: bytes,
    tail: bytes,
    /,
) -> bytes: ...
def append_records(
    events: Sequence[EncodedEvent],
    schemas: dict[str, bytes],
    schema: Callable[[str], bytes],
    properties: Callable[[bytes], bytes],
    head: bytes,
    tail: bytes,
    /,
) -> bytes: ...
