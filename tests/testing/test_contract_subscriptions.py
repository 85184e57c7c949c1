"""Contract: catch-up subscriptions to streams and ``$all`` with the real kurrentdbclient.

A subscription first confirms (the client waits for that in ``subscribe_to_*``), then sends the
history after its starting point, then ``CaughtUp``, then live events. Every subscription here has
a deadline, so a missing message fails the test instead of hanging it; ``$all`` subscriptions are
filtered to this test's own streams, as a real server's ``$all`` holds other data.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kurrentdbclient import CaughtUp, Checkpoint, KurrentDBClient, RecordedEvent, StreamState
from kurrentdbclient.exceptions import StreamIsDeletedError

from .eventstore_helpers import event, ids

NS = StreamState.NO_STREAM
DEADLINE = 10.0


def _take(items: Iterator[RecordedEvent], count: int) -> list[RecordedEvent]:
    """The next ``count`` items of a subscription (events, checkpoints and caught-up markers)."""
    return [next(items) for _ in range(count)]


def _until_caught_up(items: Iterator[RecordedEvent]) -> list[RecordedEvent]:
    """Items up to and including the first ``CaughtUp``."""
    got: list[RecordedEvent] = []
    for item in items:
        got.append(item)
        if isinstance(item, CaughtUp):
            break
    return got


def _kinds(items: list[RecordedEvent]) -> list[str]:
    return [type(item).__name__ for item in items]


def test_stream_subscription_sends_history_then_caught_up_then_live_events(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    history = [event(n=1), event(n=2)]
    eventstore_client.append_to_stream(stream, current_version=NS, events=history)

    with eventstore_client.subscribe_to_stream(
        stream, include_caught_up=True, timeout=DEADLINE
    ) as subscription:
        first = _take(subscription, 3)
        live = event(n=3)
        eventstore_client.append_to_stream(stream, current_version=1, events=[live])
        [arrived] = _take(subscription, 1)

    assert _kinds(first) == ["RecordedEvent", "RecordedEvent", "CaughtUp"]
    assert ids(first[:2]) == ids(history)
    assert [e.stream_position for e in first[:2]] == [0, 1]
    assert isinstance(first[2], CaughtUp)
    assert first[2].stream_position == 1
    assert arrived.id == live.id
    assert arrived.stream_position == 2
    assert arrived.commit_position > first[1].commit_position


def test_stream_subscription_without_caught_up_yields_only_events(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    sent = [event(n=1), event(n=2)]
    eventstore_client.append_to_stream(stream, current_version=NS, events=sent[:1])

    with eventstore_client.subscribe_to_stream(stream, timeout=DEADLINE) as subscription:
        eventstore_client.append_to_stream(stream, current_version=0, events=sent[1:])
        got = _take(subscription, 2)

    assert ids(got) == ids(sent)
    assert subscription.subscription_id  # the confirmation's id


def test_stream_subscription_from_a_revision_starts_after_it(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    sent = [event(n=n) for n in range(4)]
    eventstore_client.append_to_stream(stream, current_version=NS, events=sent)

    with eventstore_client.subscribe_to_stream(
        stream, stream_position=1, include_caught_up=True, timeout=DEADLINE
    ) as subscription:
        got = _take(subscription, 3)

    assert ids(got[:2]) == ids(sent[2:])
    assert isinstance(got[2], CaughtUp)
    assert got[2].stream_position == 3


def test_stream_subscription_from_the_end_sends_only_new_events(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    eventstore_client.append_to_stream(stream, current_version=NS, events=[event(n=0)])

    with eventstore_client.subscribe_to_stream(
        stream, from_end=True, include_caught_up=True, timeout=DEADLINE
    ) as subscription:
        [caught_up] = _take(subscription, 1)
        new = event(n=1)
        eventstore_client.append_to_stream(stream, current_version=0, events=[new])
        [got] = _take(subscription, 1)

    assert isinstance(caught_up, CaughtUp)
    assert caught_up.stream_position == 0
    assert got.id == new.id


def test_subscription_to_a_stream_that_does_not_exist_waits_for_it(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    with eventstore_client.subscribe_to_stream(
        stream, include_caught_up=True, timeout=DEADLINE
    ) as subscription:
        [caught_up] = _take(subscription, 1)
        first = event()
        eventstore_client.append_to_stream(stream, current_version=NS, events=[first])
        [got] = _take(subscription, 1)

    assert isinstance(caught_up, CaughtUp)
    assert got.id == first.id


def test_subscription_to_a_tombstoned_stream_is_refused(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    eventstore_client.append_to_stream(stream, current_version=NS, events=[event()])
    eventstore_client.tombstone_stream(stream, current_version=0)

    with pytest.raises(StreamIsDeletedError):
        eventstore_client.subscribe_to_stream(stream, timeout=DEADLINE)


def test_all_subscription_filtered_by_stream_prefix(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    mine = event("OrderPlaced", 1)
    eventstore_client.append_to_stream(f"{prefix}-a", current_version=NS, events=[mine])
    eventstore_client.append_to_stream(f"other-{prefix}", current_version=NS, events=[event()])

    with eventstore_client.subscribe_to_all(
        filter_include=[prefix],
        filter_by_stream_name=True,
        filter_by_prefix=True,
        include_caught_up=True,
        timeout=DEADLINE,
    ) as subscription:
        first = _take(subscription, 2)
        live = event("OrderShipped", 2)
        eventstore_client.append_to_stream(f"{prefix}-b", current_version=NS, events=[live])
        [arrived] = _take(subscription, 1)

    assert _kinds(first) == ["RecordedEvent", "CaughtUp"]
    assert first[0].id == mine.id
    assert first[1].commit_position >= first[0].commit_position
    assert (arrived.id, arrived.stream_name) == (live.id, f"{prefix}-b")


def test_all_subscription_filtered_by_event_type_regex(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    wanted = f"Wanted{prefix.replace('-', '')}"
    sent = [event(wanted, 1), event("Unwanted", 2), event(wanted, 3)]
    eventstore_client.append_to_stream(f"{prefix}-a", current_version=NS, events=sent)

    with eventstore_client.subscribe_to_all(
        filter_include=[wanted], include_caught_up=True, timeout=DEADLINE
    ) as subscription:
        got = _take(subscription, 3)

    assert ids(got[:2]) == [sent[0].id, sent[2].id]
    assert isinstance(got[2], CaughtUp)


def test_all_subscription_from_a_position_starts_after_it(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    sent = [event(n=n) for n in range(3)]
    eventstore_client.append_to_stream(f"{prefix}-a", current_version=NS, events=sent)
    [first, *_] = eventstore_client.read_all(
        filter_include=[prefix], filter_by_stream_name=True, filter_by_prefix=True
    )

    with eventstore_client.subscribe_to_all(
        commit_position=first.commit_position,
        filter_include=[prefix],
        filter_by_stream_name=True,
        filter_by_prefix=True,
        timeout=DEADLINE,
    ) as subscription:
        got = _take(subscription, 2)

    assert ids(got) == ids(sent[1:])


def test_all_subscription_from_the_end_sends_only_new_events(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    eventstore_client.append_to_stream(f"{prefix}-a", current_version=NS, events=[event()])

    with eventstore_client.subscribe_to_all(
        from_end=True,
        filter_include=[prefix],
        filter_by_stream_name=True,
        filter_by_prefix=True,
        include_caught_up=True,
        timeout=DEADLINE,
    ) as subscription:
        [caught_up] = _take(subscription, 1)
        new = event(n=1)
        eventstore_client.append_to_stream(f"{prefix}-a", current_version=0, events=[new])
        [got] = _take(subscription, 1)

    assert isinstance(caught_up, CaughtUp)
    assert got.id == new.id


def test_filtered_all_subscription_sends_checkpoints(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    """A checkpoint comes at least once per ``window * multiplier`` records, and on going live."""
    sent = [event(n=n) for n in range(6)]
    eventstore_client.append_to_stream(f"{prefix}-a", current_version=NS, events=sent)

    with eventstore_client.subscribe_to_all(
        filter_include=[prefix],
        filter_by_stream_name=True,
        filter_by_prefix=True,
        include_checkpoints=True,
        include_caught_up=True,
        window_size=2,
        checkpoint_interval_multiplier=1,
        timeout=DEADLINE,
    ) as subscription:
        got = _until_caught_up(subscription)

    events = [item for item in got if type(item) is RecordedEvent]
    checkpoints = [item for item in got if isinstance(item, Checkpoint)]
    assert ids(events) == ids(sent)
    assert checkpoints, _kinds(got)
    assert isinstance(got[-2], Checkpoint)  # the checkpoint on going live
    assert got[-2].commit_position >= events[-1].commit_position
    positions = [c.commit_position for c in checkpoints]
    assert positions == sorted(positions)


def test_all_subscription_skips_system_events_by_default(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    """The client's default filter hides ``$``-types, such as a stream's ``$metadata``."""
    with eventstore_client.subscribe_to_all(from_end=True, timeout=DEADLINE) as subscription:
        eventstore_client.set_stream_metadata(stream, metadata={"$maxCount": 10})
        sent = event()
        eventstore_client.append_to_stream(stream, current_version=NS, events=[sent])
        got: list[RecordedEvent] = []
        for item in subscription:
            got.append(item)
            if item.id == sent.id:
                break

    assert not [item.type for item in got if item.type.startswith("$")]
    assert got[-1].stream_name == stream


def test_filtered_all_subscription_sends_live_checkpoints_while_nothing_matches(
    eventstore_client: KurrentDBClient, prefix: str, stream: str
) -> None:
    """Live, a checkpoint follows every ``window * multiplier`` records, matching or not."""
    with eventstore_client.subscribe_to_all(
        from_end=True,
        filter_include=[prefix],
        filter_by_stream_name=True,
        filter_by_prefix=True,
        include_checkpoints=True,
        window_size=2,
        checkpoint_interval_multiplier=1,
        timeout=DEADLINE,
    ) as subscription:
        others = [event(n=n) for n in range(4)]
        eventstore_client.append_to_stream(stream, current_version=NS, events=others)
        written = eventstore_client.get_stream(stream)
        live = next(
            item
            for item in subscription
            if isinstance(item, Checkpoint) and item.commit_position >= written[0].commit_position
        )

    assert live.commit_position <= written[-1].commit_position
