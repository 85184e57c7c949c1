"""What the writer and ``CommandBus`` send through: a ``Transport`` (appends, reset, close).

The writer never talks to ``kurrentdbclient`` itself; it calls a transport, so its logic can be
tested on a fake one (``tests/writer/fakes.py``) and the real one stays a thin layer::

    transport = ClientTransport(EventStoreClient(url), owned=True, url=url)
    position = transport.append("Order-1", [encoded], ANY, timeout=10)
    results = transport.append_each([("Order-1", ANY, [e1]), ("Order-2", ANY, [e2])], timeout=10)
    transport.reset()    # a hung call is abandoned: the next call uses a new connection
    transport.close()    # releases the connection (only a client the transport owns)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from plumberd_logging.client import EventStoreClient
from plumberd_logging.codec import Codec, EncodedEvent
from plumberd_logging.errors import PlumberdError
from plumberd_logging.streams import StreamState

__all__ = ["Batch", "ClientTransport", "Transport"]

Batch = tuple[str, "int | StreamState", Sequence[EncodedEvent]]


class Transport(Protocol):
    """Appends already encoded events; raises the library's errors (``errors.py``)."""

    @property
    def url(self) -> str:
        """Where events go (never with a password), for messages."""
        ...

    def append(
        self,
        stream: str,
        events: Sequence[EncodedEvent],
        expected: int | StreamState,
        *,
        timeout: float | None,
    ) -> int:
        """One atomic append to one stream; returns the commit position."""
        ...

    def multi_append(self, batches: Sequence[Batch], *, timeout: float | None) -> int:
        """One atomic append to several streams; raises ``Unsupported`` on older servers."""
        ...

    def append_each(
        self, batches: Sequence[Batch], *, timeout: float | None
    ) -> list[int | PlumberdError]:
        """Several appends in one call, each atomic on its own: per batch, in order, its
        commit position or the error that refused it. A failure of the call raises."""
        ...

    def reset(self) -> None:
        """Drop the connection (a call hung on it, a fork, a TLS file changed); the next call
        opens a new one. Calls still running on the old connection end on their own."""
        ...

    def close(self) -> None:
        """Release the connection for good; safe to call more than once."""
        ...


class ClientTransport:
    """A :class:`Transport` over :class:`EventStoreClient`.

    ``owned``: the transport created the client (from ``url``) and closes it; a client passed
    in by the caller is theirs to close, and ``close()`` leaves it open.
    """

    def __init__(self, client: EventStoreClient, *, owned: bool, url: str | None = None) -> None:
        self._client = client
        self._owned = owned
        self._url = url

    @property
    def url(self) -> str:
        return self._client.url

    @property
    def client(self) -> EventStoreClient:
        """The client in use now (``reset`` may replace one the transport owns)."""
        return self._client

    @property
    def codec(self) -> Codec:
        return self._client.codec

    def append(
        self,
        stream: str,
        events: Sequence[EncodedEvent],
        expected: int | StreamState,
        *,
        timeout: float | None,
    ) -> int:
        return self._client.append_encoded(stream, events, expected, timeout=timeout)

    def multi_append(self, batches: Sequence[Batch], *, timeout: float | None) -> int:
        return self._client.multi_append_encoded(batches, timeout=timeout)

    def append_each(
        self, batches: Sequence[Batch], *, timeout: float | None
    ) -> list[int | PlumberdError]:
        return self._client.append_encoded_each(batches, timeout=timeout)

    def reset(self) -> None:
        old = self._client
        if self._owned and self._url is not None:
            # A new client: a call hung on the old one cannot hold up the next one.
            self._client = EventStoreClient(self._url, codec=old.codec)
            old.close()
        else:
            old.reset()

    def close(self) -> None:
        if self._owned:
            self._client.close()

    def __repr__(self) -> str:
        return f"<ClientTransport {self.url}>"
