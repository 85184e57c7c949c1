"""One source of event ids (bulk random, fork-safe) and one clock formatter."""

from __future__ import annotations

import os
import pickle
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from instants import parse_instant

from plumberd_logging import Event, _ids
from plumberd_logging._clock import format_timestamp
from plumberd_logging._ids import id_text, new_event_id
from plumberd_logging.codec import encode


def test_new_ids_are_unique_random_version_4_uuids() -> None:
    ids = [new_event_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert {(u.version, u.variant) for u in ids} == {(4, "specified in RFC 4122")}


def test_pooled_ids_are_ordinary_uuids() -> None:
    value = new_event_id()
    same = UUID(int=value.int)
    assert type(value) is UUID
    assert (value, hash(value), str(value), value.is_safe) == (
        same,
        hash(same),
        str(same),
        same.is_safe,
    )
    assert pickle.loads(pickle.dumps(value)) == value and UUID(str(value)) == value


def test_events_and_dict_bodies_draw_their_ids_from_it() -> None:
    class Happened(Event):
        what: str

    assert Happened(what="x").id.version == 4
    assert encode({"What": "x"}, event_type="Happened").id.version == 4


@given(st.uuids())
def test_id_text_is_the_uuid_text_whether_remembered_or_not(value: UUID) -> None:
    assert id_text(value) == str(value)
    assert id_text(value) == str(value)  # now remembered
    assert id_text(UUID(int=value.int)) == str(value)  # an equal UUID, another object


def test_id_text_keeps_a_subclass_text_and_remembers_a_bounded_number() -> None:
    class Braced(UUID):
        def __str__(self) -> str:
            return "{" + super().__str__() + "}"

    braced = Braced(int=new_event_id().int)
    assert id_text(braced) == str(braced) and id_text(braced).startswith("{")
    texts = {id_text(new_event_id()) for _ in range(3 * _ids._TEXTS_MAX)}
    assert len(texts) == 3 * _ids._TEXTS_MAX
    assert len(_ids._TEXTS) <= _ids._TEXTS_MAX


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
# gRPC's threads run in this process (the library's idle channel, other tests' clients); the
# child only draws ids and exits, which needs none of them
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_never_draws_the_ids_its_parent_draws() -> None:
    new_event_id()  # the pool is filled now, before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (child)
        os.close(read)
        os.write(write, b"".join(new_event_id().bytes for _ in range(8)))
        os._exit(0)
    os.close(write)
    parent = {new_event_id().bytes for _ in range(8)}
    data = b""
    while chunk := os.read(read, 4096):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    child = {data[i : i + 16] for i in range(0, len(data), 16)}
    assert len(child) == 8
    assert not child & parent


@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_utc_and_local_texts_name_the_same_instant(timestamp: float) -> None:
    utc, local = format_timestamp(timestamp, utc=True), format_timestamp(timestamp, utc=False)
    assert utc.endswith("Z") and not local.endswith("Z")
    assert parse_instant(utc) == parse_instant(local)
    fraction = utc[19:-1]
    assert fraction == "" or (fraction[0] == "." and not fraction.endswith("0"))
    assert abs(parse_instant(utc).timestamp() - timestamp) <= 1e-6


@given(st.lists(st.floats(min_value=-1e9, max_value=4e9, allow_nan=False), min_size=2))
def test_the_remembered_fraction_never_leaks_into_another_instant(stamps: list[float]) -> None:
    for timestamp in stamps:  # each formatted twice (cached fraction), as a log line does
        utc, again = format_timestamp(timestamp, utc=True), format_timestamp(timestamp, utc=True)
        assert utc == again
        assert parse_instant(utc) == parse_instant(format_timestamp(timestamp, utc=False))
        assert abs(parse_instant(utc).timestamp() - timestamp) <= 1e-6
