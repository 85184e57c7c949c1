"""``Event``: both declaration styles, ids, type names, wire names, stream rules, type checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest

from plumberd_logging import (
    Event,
    InvalidEvent,
    StreamName,
    encode,
    event_type_of,
    field,
    stream_for,
)


class RecordingFinished(Event):
    recording_id: str
    duration: float
    file_path: str
    note: str | None = None


class TaskCreated(Event):  # the py-micro-plumberd README style
    def __init__(self, title: str, description: str) -> None:
        super().__init__()
        self.title = title
        self.description = description


def data(event: object) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(encode(event).data)
    return result


def test_annotated_style_constructs_by_keyword_with_defaults() -> None:
    e = RecordingFinished(recording_id="r", duration=1.0, file_path="/f")
    assert (e.recording_id, e.note) == ("r", None)
    assert isinstance(e.id, UUID)
    assert data(e) == {
        "Id": str(e.id),
        "RecordingId": "r",
        "Duration": 1.0,
        "FilePath": "/f",
        "Note": None,
    }


def test_annotated_style_rejects_positional_and_missing_fields() -> None:
    with pytest.raises(TypeError):
        RecordingFinished("r", 1.0, "/f")  # type: ignore[call-arg, arg-type]
    with pytest.raises(TypeError, match="file_path"):
        RecordingFinished(recording_id="r", duration=1.0)  # type: ignore[call-arg]


def test_readme_style_attributes_are_pascal_cased() -> None:
    e = TaskCreated("Write docs", "all of them")
    assert data(e) == {"Id": str(e.id), "Title": "Write docs", "Description": "all of them"}


def test_each_event_gets_its_own_id_unless_given() -> None:
    given = uuid4()
    assert RecordingFinished(recording_id="a", duration=1, file_path="").id != (
        RecordingFinished(recording_id="a", duration=1, file_path="").id
    )
    assert RecordingFinished(id=given, recording_id="a", duration=1, file_path="").id == given
    as_text = RecordingFinished(
        id=str(given).upper(),  # type: ignore[arg-type]
        recording_id="a",
        duration=1,
        file_path="",
    )
    assert as_text.id == given


def test_assigning_id_later_is_honoured_like_py_micro_plumberd() -> None:
    e = TaskCreated("t", "d")
    e.id = UUID("7d73a4d9-8a60-4a73-a1a2-c373c6000000")
    enc = encode(e)
    assert enc.id == e.id
    assert json.loads(enc.data)["Id"] == "7d73a4d9-8a60-4a73-a1a2-c373c6000000"


def test_invalid_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"Event\.id"):
        RecordingFinished(id="nope", recording_id="a", duration=1, file_path="")  # type: ignore[arg-type]
    e = TaskCreated("t", "d")
    e.id = UUID(int=0)
    with pytest.raises(InvalidEvent, match="nil GUID"):
        encode(e)


def test_event_type_defaults_to_class_name_and_can_be_overridden() -> None:
    class Envelope(Event, event_type="Envelope<Order>"):
        order_id: str

    assert event_type_of(RecordingFinished(recording_id="", duration=0, file_path="")) == (
        "RecordingFinished"
    )
    assert encode(Envelope(order_id="o")).type == "Envelope<Order>"
    with pytest.raises(ValueError, match="event_type"):

        class Bad(Event, event_type=" "):
            pass


def test_wire_names_for_acronyms_both_styles() -> None:
    class UserSeen(Event):
        user_id: str = field(wire_name="UserID")
        page_url: str = field(wire_name="URL")

    class LegacySeen(Event):
        __wire_names__: ClassVar[Mapping[str, str]] = {"user_id": "UserID"}

        def __init__(self, user_id: str) -> None:
            super().__init__()
            self.user_id = user_id

    assert set(data(UserSeen(user_id="u", page_url="x"))) == {"Id", "UserID", "URL"}
    assert set(data(LegacySeen("u"))) == {"Id", "UserID"}


def test_omit_if_none_leaves_csharp_option_unset() -> None:
    class Renamed(Event):
        name: str | None = field(default=None, omit_if_none=True)
        label: str | None = None

    assert data(Renamed()).keys() == {"Id", "Label"}
    e = Renamed(name="n")
    assert data(e) == {"Id": str(e.id), "Name": "n", "Label": None}


def test_two_attributes_mapping_to_one_csharp_name_are_rejected() -> None:
    class Clash(Event):
        def __init__(self) -> None:
            super().__init__()
            self.user_id = 1
            self.userId = 2

    with pytest.raises(InvalidEvent, match="map to the C# name 'UserId'"):
        encode(Clash())


def test_declared_types_are_checked_before_csharp_sees_them() -> None:
    with pytest.raises(InvalidEvent, match=r"RecordingFinished\.duration: None is not allowed"):
        encode(RecordingFinished(recording_id="r", duration=None, file_path="f"))  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent, match=r"RecordingFinished\.duration: expected float"):
        encode(RecordingFinished(recording_id="r", duration="1.5", file_path="f"))  # type: ignore[arg-type]

    class Counted(Event):
        count: int
        ref: UUID

    with pytest.raises(InvalidEvent, match="cannot read a fraction"):
        encode(Counted(count=2.0, ref=uuid4()))  # type: ignore[arg-type]
    ref = uuid4()
    assert data(Counted(count=2, ref=str(ref).upper()))["Ref"] == str(ref)  # type: ignore[arg-type]


def test_stream_rule_on_the_class() -> None:
    class Recorded(Event, category="Recording", stream_id_field="recording_id"):
        recording_id: UUID

    class Ping(Event, category="Health"):
        pass

    rid = uuid4()
    assert stream_for(Recorded(recording_id=rid)) == StreamName("Recording", rid)
    assert stream_for(Ping()) == "Health"
    assert stream_for(RecordingFinished(recording_id="", duration=0, file_path="")) is None
    with pytest.raises(ValueError, match="splits stream names at the first dash"):

        class Bad(Event, category="Video-Recording"):
            pass

    with pytest.raises(ValueError, match="needs category"):

        class Bad2(Event, stream_id_field="x"):
            x: str


def test_nested_events_lists_and_equality() -> None:
    inner = RecordingFinished(recording_id="r", duration=1, file_path="f")

    class Batch(Event):
        items: list[RecordingFinished]

    b = Batch(items=[inner])
    assert data(b)["Items"][0]["RecordingId"] == "r"
    assert b == Batch(id=b.id, items=[inner])
    assert b != Batch(items=[inner])
    assert "Batch(id=" in repr(b)
