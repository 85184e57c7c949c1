"""context_from / caused_by(message) / use_context: continuing chains from messages as read."""

from __future__ import annotations

import json
import re
from uuid import UUID, uuid4

import pytest

from plumberd_logging import (
    CorrelationContext,
    EventStoreClient,
    caused_by,
    context_from,
    correlation,
    current_context,
    use_context,
)
from plumberd_logging.testing import InMemoryEventStore, ProposedEvent


def test_context_from_a_recorded_event(eventstore: InMemoryEventStore) -> None:
    root, message = uuid4(), uuid4()
    metadata = {"$correlationId": str(root).upper(), "$causationId": str(root), "UserId": "bob"}
    eventstore.append(
        "Camera-1",
        [ProposedEvent("CameraRenamed", b"{}", json.dumps(metadata).encode(), id=message)],
    )
    with EventStoreClient(eventstore.url) as client:
        [recorded] = client.read_stream("Camera-1")
    assert context_from(recorded) == CorrelationContext(root, message, "bob")
    [stored] = eventstore.events("Camera-1")  # raw JSON bytes as metadata work too
    assert context_from(stored) == CorrelationContext(root, message, "bob")
    with caused_by(recorded) as ctx:
        assert current_context() == ctx == CorrelationContext(root, message, "bob")


def test_a_message_without_correlation_starts_its_own_chain() -> None:
    message = uuid4()
    assert context_from(str(message)) == CorrelationContext(message, message, None)
    assert context_from(message, {"UserId": 7}) == CorrelationContext(message, message, None)


def test_caused_by_a_message_without_user_keeps_the_scope_user() -> None:
    message = uuid4()
    with correlation(user_id="alice"), caused_by(message) as ctx:
        assert ctx == CorrelationContext(message, message, "alice")


@pytest.mark.parametrize(
    ("message", "metadata", "error", "text"),
    [
        (object(), None, TypeError, "a message with .id and .metadata"),
        ("not-a-guid", None, ValueError, "message_id: expected a GUID"),
        (uuid4(), {"$correlationId": "nope"}, ValueError, "metadata['$correlationId']"),
    ],
)
def test_bad_messages_are_named(
    message: object, metadata: dict[str, str] | None, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=re.escape(text)):
        context_from(message, metadata)  # type: ignore[arg-type]


def test_bad_metadata_on_a_message_is_named() -> None:
    class Msg:
        id = UUID(int=5)
        metadata = b"[1, 2]"

    with pytest.raises(ValueError, match="must be a JSON object"):
        context_from(Msg())
    Msg.metadata = b"not json"
    with pytest.raises(ValueError, match="not JSON"):
        context_from(Msg())


def test_use_context_enters_a_captured_context_and_restores() -> None:
    with correlation() as outer:
        captured = current_context()
    assert current_context() is None
    with use_context(captured) as ctx:
        assert ctx is current_context() is outer
        with use_context(None):
            assert current_context() is None
        assert current_context() is outer
    assert current_context() is None
    with pytest.raises(TypeError, match="expected a CorrelationContext"), use_context("ctx"):  # type: ignore[arg-type]
        pass


def test_a_derived_context_is_an_ordinary_frozen_context() -> None:
    # derive() fills the slots directly (the fast path of every @emits call): what it makes
    # must compare, hash, print and refuse changes like one built by the constructor.
    outer, cause = uuid4(), uuid4()
    with correlation(outer, user_id="bob"), correlation(causation_id=cause) as derived:
        built = CorrelationContext(outer, cause, "bob")
        assert type(derived) is CorrelationContext
        assert derived == built and hash(derived) == hash(built)
        assert repr(derived) == repr(built)
        with pytest.raises(AttributeError):
            derived.user_id = "eve"  # type: ignore[misc]
        assert current_context() is derived
