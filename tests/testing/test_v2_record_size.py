"""The test server's v2 record size and metadata, computed without a protobuf ``Struct`` per
record, equal what the ``Struct`` gives (KurrentDB's definition of both)."""

from __future__ import annotations

import json
import random

from google.protobuf import json_format, struct_pb2
from kurrentdbclient.protos.v2.streams import streams_pb2

from plumberd_logging.testing._servicers import _record_metadata, _record_size


def _records(count: int) -> list[streams_pb2.AppendRecord]:
    rnd = random.Random(20261203)
    alphabet = 'abcXYZ09é€😀"\\'

    def text(n: int) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(n))

    out = []
    for _ in range(count):
        r = streams_pb2.AppendRecord()
        if rnd.random() < 0.8:
            r.record_id = text(rnd.choice([0, 36, 200]))
        for _ in range(rnd.randint(1, 5)):
            key = text(rnd.choice([0, 3, 130]))
            if rnd.random() < 0.9:
                r.properties[key].string_value = text(rnd.choice([0, 5, 300, 20_000]))
            else:
                r.properties[key].number_value = rnd.random()
        if rnd.random() < 0.9:
            r.schema.format = rnd.choice(
                [
                    streams_pb2.SCHEMA_FORMAT_UNSPECIFIED,
                    streams_pb2.SCHEMA_FORMAT_JSON,
                    streams_pb2.SCHEMA_FORMAT_BYTES,
                ]
            )
            r.schema.name = text(rnd.choice([0, 10, 200]))
        if rnd.random() < 0.8:
            r.data = rnd.randbytes(rnd.choice([0, 10, 200, 20_000]))
        if rnd.random() < 0.3:
            r.stream = text(rnd.choice([0, 10, 200]))
        out.append(r)
    return out


def test_record_size_and_metadata_equal_the_struct_definition() -> None:
    for record in _records(400):
        properties = struct_pb2.Struct(fields=dict(record.properties))
        size = len(record.data) + properties.ByteSize() + len(record.schema.name.encode())
        assert _record_size(record) == size
        as_dict = json_format.MessageToDict(properties)
        assert json.loads(_record_metadata(record)) == as_dict
