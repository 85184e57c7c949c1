"""Client keepalive pings: the server accepts the official clients' pings (issue #14, item 1).

The .NET and Node.js clients ping every 10 s, with or without calls in flight. grpcio's default
server policy counts such pings as abuse and closes the connection ("too many pings"), which
drops an idle subscription. These tests hold a subscription open with a grpcio channel set up
like those clients and check that the next event still arrives.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from kurrentdbclient.protos.v1 import shared_pb2, streams_pb2

from plumberd_logging.testing import InMemoryCluster, InMemoryEventStore, ProposedEvent

_READ = "/event_store.client.streams.Streams/Read"


def _channel(target: str, ping_ms: int, ca: bytes | None = None) -> grpc.Channel:
    """A channel pinging like the .NET client (SocketsHttpHandler, KeepAlivePingPolicy.Always)."""
    options = [
        ("grpc.keepalive_time_ms", ping_ms),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),  # keep pinging while nothing is sent
    ]
    if ca is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(ca), options=options)


def _subscribe(
    channel: grpc.Channel, stream: str, metadata: tuple[tuple[str, str], ...] = ()
) -> Iterator[streams_pb2.ReadResp]:
    options = streams_pb2.ReadReq.Options(
        stream=streams_pb2.ReadReq.Options.StreamOptions(
            stream_identifier=shared_pb2.StreamIdentifier(stream_name=stream.encode()),
            start=shared_pb2.Empty(),
        ),
        read_direction=streams_pb2.ReadReq.Options.Forwards,
        resolve_links=False,
        subscription=streams_pb2.ReadReq.Options.SubscriptionOptions(),
        uuid_option=streams_pb2.ReadReq.Options.UUIDOption(string=shared_pb2.Empty()),
        no_filter=shared_pb2.Empty(),
        control_option=streams_pb2.ReadReq.Options.ControlOption(compatibility=1),
    )
    read = channel.unary_stream(
        _READ,
        request_serializer=streams_pb2.ReadReq.SerializeToString,
        response_deserializer=streams_pb2.ReadResp.FromString,
    )
    responses: Iterator[streams_pb2.ReadResp] = read(
        streams_pb2.ReadReq(options=options), metadata=metadata
    )
    return responses


def _hold_idle_subscription(
    store: InMemoryEventStore,
    target: str,
    *,
    ping_ms: int,
    idle_seconds: float,
    ca: bytes | None = None,
    metadata: tuple[tuple[str, str], ...] = (),
) -> None:
    """Subscribe, stay idle for ``idle_seconds`` (the client pinging), then expect an event."""
    stream = f"keepalive-{time.monotonic_ns()}"
    received: queue.Queue[streams_pb2.ReadResp | BaseException] = queue.Queue()
    channel = _channel(target, ping_ms, ca)
    responses = _subscribe(channel, stream, metadata)

    def pump() -> None:
        try:
            for response in responses:
                received.put(response)
        except grpc.RpcError as error:
            received.put(error)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        assert received.get(timeout=30).HasField("confirmation")  # type: ignore[union-attr]
        assert received.get(timeout=30).HasField("caught_up")  # type: ignore[union-attr]
        # Idle on purpose: the point is the pings the client sends while nothing happens.
        # An error that arrives during this time is the failure under test.
        try:
            early = received.get(timeout=idle_seconds)
        except queue.Empty:
            pass
        else:
            pytest.fail(f"the idle subscription ended: {early}")
        store.append(stream, [ProposedEvent("Pinged", b"{}")])
        answer = received.get(timeout=30)
        assert not isinstance(answer, BaseException), f"the subscription ended: {answer}"
        assert answer.event.event.metadata["type"] == "Pinged"
    finally:
        responses.cancel()  # type: ignore[attr-defined]
        channel.close()
        thread.join(timeout=30)


def test_frequent_client_pings_do_not_close_an_idle_subscription() -> None:
    """Pings every second: grpcio's default policy closes the connection after three."""
    with InMemoryEventStore() as store:
        _hold_idle_subscription(store, f"127.0.0.1:{store.port}", ping_ms=1000, idle_seconds=6)


def test_client_pings_are_accepted_over_tls_and_on_a_cluster_follower() -> None:
    with InMemoryCluster(2, tls=True) as cluster:
        follower = cluster.nodes[1]
        assert follower.tls is not None
        _hold_idle_subscription(
            follower,
            f"localhost:{follower.port}",
            ping_ms=1000,
            idle_seconds=6,
            ca=follower.tls.read_ca(),
            metadata=(("authorization", "Basic YWRtaW46Y2hhbmdlaXQ="),),  # admin:changeit
        )


@pytest.mark.slow
def test_dotnet_client_default_keepalive_holds_an_idle_subscription_for_60_seconds() -> None:
    """The .NET/Node defaults: a ping every 10 s, permitted without calls; 60 s idle."""
    with InMemoryEventStore() as store:
        _hold_idle_subscription(store, f"127.0.0.1:{store.port}", ping_ms=10_000, idle_seconds=60)


def test_client_pings_without_any_call_in_flight_keep_the_connection() -> None:
    """An idle channel (no call at all) pinging every second stays READY, never sent away."""
    with InMemoryEventStore() as store:
        channel = _channel(f"127.0.0.1:{store.port}", ping_ms=1000)
        states: queue.Queue[grpc.ChannelConnectivity] = queue.Queue()
        try:
            grpc.channel_ready_future(channel).result(timeout=30)
            channel.subscribe(states.put, try_to_connect=False)
            assert states.get(timeout=30) == grpc.ChannelConnectivity.READY  # the current state
            # Idle on purpose: any change of state in these 6 s (GOAWAY -> IDLE) is the failure.
            try:
                changed = states.get(timeout=6)
            except queue.Empty:
                pass
            else:
                pytest.fail(f"the idle connection was closed: {changed}")
        finally:
            channel.unsubscribe(states.put)
            channel.close()
