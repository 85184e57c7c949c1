"""How a chunk of queued events is cut into appends (``_batching``), checked against its rules.

The writer tests show the effect on a server; these check the rules themselves on generated
chunks: every stream's events go out in submission order, a unit is one atomic append within
the batch limits, an expected position opens a unit of its own, and no unit is cut early.
"""

from __future__ import annotations

import dataclasses
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from plumberd_logging._batching import group_calls, plan_rounds
from plumberd_logging.streams import ANY, StreamState


@dataclasses.dataclass(frozen=True)
class Item:
    stream: str
    expected: int | StreamState
    size: int
    n: int  # submission order


@st.composite
def chunks(draw: st.DrawFn) -> tuple[list[Item], int, int]:
    raw = draw(
        st.lists(
            st.tuples(
                st.sampled_from("abcd"),
                st.one_of(st.just(ANY), st.just(ANY), st.integers(0, 5)),
                st.integers(1, 40),
            ),
            max_size=60,
        )
    )
    items = [Item(s, e, size, n) for n, (s, e, size) in enumerate(raw)]
    return items, draw(st.integers(1, 6)), draw(st.integers(1, 100))


@settings(max_examples=400, deadline=None)
@given(chunks())
def test_units_follow_the_rules(chunk: tuple[list[Item], int, int]) -> None:
    items, max_events, max_bytes = chunk
    rounds = plan_rounds(items, max_events, max_bytes)
    per_stream: dict[str, list[list[Item]]] = {}
    for round_ in rounds:
        assert len({u.stream for u in round_}) == len(round_)  # one unit per stream a round
        for unit in round_:
            assert unit.items and all(i.stream == unit.stream for i in unit.items)
            assert unit.size == sum(i.size for i in unit.items)
            assert unit.expected == unit.items[0].expected
            assert all(i.expected is ANY for i in unit.items[1:])
            assert len(unit.items) <= max_events
            assert unit.size <= max_bytes or len(unit.items) == 1
            per_stream.setdefault(unit.stream, []).append(unit.items)
    for stream, units in per_stream.items():  # in order, nothing lost, nothing twice
        assert [i.n for u in units for i in u] == [i.n for i in items if i.stream == stream]
        for before, after in itertools.pairwise(units):  # never cut early
            first = after[0]
            assert (
                first.expected is not ANY
                or len(before) == max_events
                or sum(i.size for i in before) + first.size > max_bytes
            )
    assert sum(len(u.items) for r in rounds for u in r) == len(items)


@settings(max_examples=200, deadline=None)
@given(chunks())
def test_calls_pack_a_round_within_the_limits(chunk: tuple[list[Item], int, int]) -> None:
    items, max_events, max_bytes = chunk
    for round_ in plan_rounds(items, max_events, max_bytes):
        calls = group_calls(round_, max_events, max_bytes)
        assert [u for call in calls for u in call] == round_  # every unit once, in order
        for call in calls:
            events = sum(len(u.items) for u in call)
            size = sum(u.size for u in call)
            assert len(call) == 1 or (events <= max_events and size <= max_bytes)
