"""``StreamName`` and expected positions."""

from __future__ import annotations

import pickle
from uuid import UUID

import pytest

from plumberd_logging import ANY, NO_STREAM, STREAM_EXISTS, Event, StreamName
from plumberd_logging.streams import check_expected, stream_for, stream_name_for


def test_stream_name_is_category_dash_id_and_a_str() -> None:
    s = StreamName("Recording", "rec-1")
    assert str(s) == "Recording-rec-1"
    assert s == "Recording-rec-1"
    assert isinstance(s, str)
    assert (s.category, s.stream_id) == ("Recording", "rec-1")
    assert repr(s) == "StreamName(category='Recording', stream_id='rec-1')"
    assert hash(s) == hash("Recording-rec-1")
    assert {s: 1}[StreamName("Recording", "rec-1")] == 1


def test_guid_ids_are_rendered_like_dotnet() -> None:
    upper = "0B5E7D52-4F6A-4C1B-9A3E-2D8F1C7B6A90"
    expected = "Recording-0b5e7d52-4f6a-4c1b-9a3e-2d8f1c7b6a90"
    assert StreamName("Recording", UUID(upper)) == expected
    assert StreamName("Recording", upper) == expected


def test_parse_splits_at_the_first_dash() -> None:
    s = StreamName.parse("Recording-0b5e7d52-4f6a-4c1b-9a3e-2d8f1c7b6a90")
    assert s.category == "Recording"
    assert s.stream_id == "0b5e7d52-4f6a-4c1b-9a3e-2d8f1c7b6a90"
    for bad in ("Recording", "-x", "Recording-"):
        with pytest.raises(ValueError, match="is not of the form"):
            StreamName.parse(bad)


def test_bad_parts_are_rejected_with_the_reason() -> None:
    with pytest.raises(ValueError, match="C# MicroPlumberd splits stream names at the first dash"):
        StreamName("Video-Recording", "x")
    with pytest.raises(ValueError, match=r"category=\.\.\.\): must not be empty"):
        StreamName("", "x")
    with pytest.raises(ValueError, match=r"stream_id=\.\.\.\): must not be empty"):
        StreamName("Recording", "")
    with pytest.raises(TypeError, match="expected a str, UUID or int"):
        StreamName("Recording", 1.5)  # type: ignore[arg-type]


def test_guid_matches_csharp_metadata_id() -> None:
    gid = UUID("0b5e7d52-4f6a-4c1b-9a3e-2d8f1c7b6a90")
    assert StreamName("Recording", gid).guid == gid
    # wire-format.md §11: the .NET name-based Guid of a non-GUID id
    assert StreamName("Recording", "rec-123").guid == UUID("4bcfbd29-096d-7287-b305-823906572a45")


def test_stream_names_pickle() -> None:
    s = StreamName("Recording", "r")
    copy = pickle.loads(pickle.dumps(s))
    assert copy == s
    assert copy.category == "Recording"


def test_expected_positions() -> None:
    assert check_expected(None) is ANY
    assert check_expected(NO_STREAM) is NO_STREAM
    assert check_expected(STREAM_EXISTS) is STREAM_EXISTS
    assert check_expected(4) == 4
    with pytest.raises(ValueError, match="use NO_STREAM"):
        check_expected(-1)
    with pytest.raises(TypeError, match="expected_position"):
        check_expected("3")


def test_the_entry_points_stream_name_is_the_class_rule_as_a_plain_str() -> None:
    class Shipped(Event, category="Shipment", stream_id_field="shipment_id"):
        shipment_id: object

    class Ticked(Event, category="Clock"):
        pass

    guid = "0B5E7D52-4F6A-4C1B-9A3E-2D8F1C7B6A90"
    for value in ["s-1", "s-2", guid, UUID(guid), 42, "s-3"]:  # the fast path after the first
        event = Shipped(shipment_id=value)
        name = stream_name_for(event)
        assert type(name) is str and name == str(stream_for(event))
    assert stream_name_for(Shipped(shipment_id="s-4")) == "Shipment-s-4"
    assert stream_name_for(Shipped(shipment_id=guid)) == "Shipment-" + guid.lower()
    assert stream_name_for(Ticked()) == "Clock"
    assert stream_name_for(StreamName("A", "b")) is None  # no rule
    for empty in ["", None]:
        with pytest.raises(ValueError, match="stream id is empty"):
            stream_name_for(Shipped(shipment_id=empty))


def test_the_entry_points_stream_name_still_refuses_a_bad_category() -> None:
    class Dashed(Event, category="Clock", stream_id_field="tick"):
        tick: str

    Dashed.__category__ = "Bad-Category"
    with pytest.raises(ValueError, match="contains '-'"):
        stream_name_for(Dashed(tick="t-1"))
