"""``ServerFeatures.GetSupportedMethods``: which RPCs this server answers, as KurrentDB lists them.

Clients ask once per connection and choose their code paths from the answer: the Node.js client
appends through ``BatchAppend`` and allows ``multiStreamAppend`` only when they are listed, and
lists persistent subscriptions over gRPC only when ``List`` is. kurrentdbclient ships no module
for this proto, so its two messages are declared here, in a private descriptor pool (so they can
never clash with another copy loaded in the process)::

    reply = supported_methods()
    assert reply.event_store_server_version == SERVER_VERSION
    assert ("batchappend", "event_store.client.streams.streams") in {
        (m.method_name, m.service_name) for m in reply.methods
    }
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["SERVED_METHODS", "SERVER_VERSION", "SupportedMethods", "supported_methods"]

SERVER_VERSION = "25.1.0"
"""The KurrentDB version announced: the first with the v2 multi-stream ``AppendSession``."""

SERVED_METHODS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("event_store.client.streams.Streams", "Read", ()),
    ("event_store.client.streams.Streams", "Append", ()),
    ("event_store.client.streams.Streams", "BatchAppend", ()),
    ("event_store.client.streams.Streams", "Delete", ()),
    ("event_store.client.streams.Streams", "Tombstone", ()),
    ("event_store.client.gossip.Gossip", "Read", ()),
    ("event_store.client.server_features.ServerFeatures", "GetSupportedMethods", ()),
    (
        "event_store.client.persistent_subscriptions.PersistentSubscriptions",
        "List",
        ("stream", "all"),
    ),
    ("kurrentdb.protocol.v2.streams.StreamsService", "AppendSession", ()),
)
"""(service, method, features) of every RPC served (``AppendRecords`` is not: it refuses)."""


def _message_classes() -> tuple[Any, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="plumberd_logging/testing/serverfeatures.proto",
        package="event_store.client.server_features",
        syntax="proto3",
    )
    string = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
    optional = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    repeated = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
    method = file.message_type.add(name="SupportedMethod")
    method.field.add(name="method_name", number=1, type=string, label=optional)
    method.field.add(name="service_name", number=2, type=string, label=optional)
    method.field.add(name="features", number=3, type=string, label=repeated)
    methods = file.message_type.add(name="SupportedMethods")
    methods.field.add(
        name="methods",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".event_store.client.server_features.SupportedMethod",
        label=repeated,
    )
    methods.field.add(name="event_store_server_version", number=2, type=string, label=optional)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    find = pool.FindMessageTypeByName
    return (
        message_factory.GetMessageClass(
            find("event_store.client.server_features.SupportedMethods")
        ),
        message_factory.GetMessageClass(find("event_store.client.server_features.SupportedMethod")),
    )


SupportedMethods, _SupportedMethod = _message_classes()
"""The ``SupportedMethods`` message class (``FromString`` decodes an answer)."""


def supported_methods() -> Any:
    """The answer to ``GetSupportedMethods``: names lower-cased, as KurrentDB sends them."""
    return SupportedMethods(
        methods=[
            _SupportedMethod(
                method_name=method.lower(), service_name=service.lower(), features=list(features)
            )
            for service, method, features in SERVED_METHODS
        ],
        event_store_server_version=SERVER_VERSION,
    )
