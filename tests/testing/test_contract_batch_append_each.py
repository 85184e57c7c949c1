"""Contract: several BatchAppend requests in one call, each its own atomic append, answered by
correlation id (what the writer sends to servers without multi-stream appends).

Runs against the in-process server by default and unchanged against a real one
(``PLUMBERD_TEST_URL``), as the .NET client multiplexes its appends on one BatchAppend call.
"""

from __future__ import annotations

import json

from kurrentdbclient import KurrentDBClient

from plumberd_logging import ANY, NO_STREAM, EventStoreClient, encode
from plumberd_logging.errors import WrongExpectedVersion


def test_each_request_of_one_call_is_answered_on_its_own(
    eventstore_url: str, eventstore_client: KurrentDBClient, stream: str
) -> None:
    names = [f"{stream}-{i}" for i in range(5)]
    with EventStoreClient(eventstore_url) as client:
        client.append_encoded(names[2], [encode({"N": -1}, event_type="Seed")])
        results = client.append_encoded_each(
            [
                (
                    name,
                    NO_STREAM,
                    [encode({"N": i}, event_type="T"), encode({"N": i + 10}, event_type="T")],
                )
                for i, name in enumerate(names)
            ],
            timeout=10,
        )
        again = client.append_encoded_each([(names[2], ANY, [encode({"N": 99}, event_type="T")])])
    assert isinstance(results[2], WrongExpectedVersion)  # it existed: refused alone
    for i in (0, 1, 3, 4):
        position = results[i]
        assert isinstance(position, int)
        stored = list(eventstore_client.get_stream(names[i]))
        assert [json.loads(e.data)["N"] for e in stored] == [i, i + 10]
        assert stored[-1].commit_position == position
    assert isinstance(again[0], int)
    assert [json.loads(e.data)["N"] for e in eventstore_client.get_stream(names[2])] == [-1, 99]
