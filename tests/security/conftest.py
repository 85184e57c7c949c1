"""Fixtures for the security and cluster tests: a TLS server with users, and other CAs.

The password is recognisable (``PASSWORD``), so that any output it leaks into is found.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plumberd_logging.testing import InMemoryEventStore, TlsFiles

__all__ = ["PASSWORD", "READER_PASSWORD", "USERS"]

#: The administrator's password: no output of the library may ever contain it.
PASSWORD = "Sup3r-S3cret-pw"
READER_PASSWORD = "Rd-S3cret-pw"
USERS = {"admin": PASSWORD, "reader": READER_PASSWORD}


@pytest.fixture(scope="session")
def tls() -> TlsFiles:
    """One CA and server certificate for the session (making one takes some 20 ms)."""
    return TlsFiles.generate()


@pytest.fixture(scope="session")
def other_ca() -> TlsFiles:
    """A CA that did not sign the server's certificate."""
    return TlsFiles.generate()


@pytest.fixture(scope="session")
def wrong_host(tls: TlsFiles) -> TlsFiles:
    """A certificate from the right CA, for a host name the client does not dial."""
    return tls.issue(hosts=["wrong.example"])


@pytest.fixture
def secure(tls: TlsFiles) -> Iterator[InMemoryEventStore]:
    """A TLS server: ``admin`` may write, ``reader`` may only read."""
    with InMemoryEventStore(tls=tls, users=USERS, writers={"admin"}) as store:
        yield store


@pytest.fixture
def wrong_host_server(wrong_host: TlsFiles) -> Iterator[InMemoryEventStore]:
    with InMemoryEventStore(tls=wrong_host, users=USERS) as store:
        yield store


@pytest.fixture(autouse=True)
def fresh_diagnostics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees the library's stderr lines afresh (they are rate limited per kind)."""
    from plumberd_logging import _diagnostics

    monkeypatch.setattr(_diagnostics, "_last", {})
    monkeypatch.setattr(_diagnostics, "_suppressed", {})
