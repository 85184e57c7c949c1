"""pytest plugin of plumberd_logging: an EventStoreDB/KurrentDB for every test that asks for one.

Registered through the ``pytest11`` entry point, so installing plumberd-logging is enough::

    def test_places_order(eventstore, eventstore_client):
        place_order(eventstore_client, order_id=1)              # your code, the real client
        [event] = eventstore.wait_for_events("order-1", 1)
        assert event.type == "OrderPlaced"

Fixtures (all function-scoped unless noted):

``eventstore``
    A fresh, started :class:`~plumberd_logging.testing.InMemoryEventStore` per test (about 3 ms
    to start and stop), so data, faults and call counts never leak between tests.
``eventstore_url``
    Where the code under test should connect. The in-process server by default; the real server
    named by ``--plumberd-url`` or ``$PLUMBERD_TEST_URL`` when given, so the same tests run
    against a real EventStoreDB/KurrentDB (use unique stream names in such tests). A test that
    also uses ``eventstore`` always gets the in-process server.
``eventstore_client``
    A ``KurrentDBClient`` for ``eventstore_url``, closed after the test.
``kurrentdb_container`` (session)
    The URL of a throw-away KurrentDB container (testcontainers). Skips with the reason when
    testcontainers is missing or no Docker engine is reachable. The image is
    ``$PLUMBERD_KURRENTDB_IMAGE`` or ``docker.kurrent.io/kurrent-latest/kurrentdb:latest``.

Markers: ``real_server`` skips a test unless a real server URL is configured;
``inprocess_only`` skips it when one is (for tests that need fault injection or inspection).

Importing this module imports neither grpc nor kurrentdbclient; the fixtures do, when used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from kurrentdbclient import KurrentDBClient

    from plumberd_logging.testing._server import InMemoryEventStore

__all__ = [
    "DEFAULT_KURRENTDB_IMAGE",
    "URL_ENV_VAR",
    "eventstore",
    "eventstore_client",
    "eventstore_url",
    "kurrentdb_container",
    "real_server_url",
]

URL_ENV_VAR = "PLUMBERD_TEST_URL"
"""Environment variable naming a real server for ``eventstore_url``."""
DEFAULT_KURRENTDB_IMAGE = "docker.kurrent.io/kurrent-latest/kurrentdb:latest"
_IMAGE_ENV_VAR = "PLUMBERD_KURRENTDB_IMAGE"
_CONTAINER_READY_TIMEOUT = 120.0


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--plumberd-url``."""
    group = parser.getgroup("plumberd-logging")
    group.addoption(
        "--plumberd-url",
        default=None,
        metavar="URL",
        help=(
            "run tests that use the eventstore_url fixture against this real "
            f"EventStoreDB/KurrentDB (default: ${URL_ENV_VAR}; unset: in-process server)"
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers."""
    config.addinivalue_line(
        "markers",
        f"real_server: needs a real EventStoreDB/KurrentDB (--plumberd-url or ${URL_ENV_VAR})",
    )
    config.addinivalue_line(
        "markers",
        "inprocess_only: needs the in-process test server (faults, inspection); "
        "skipped when a real server URL is configured",
    )


def real_server_url(config: pytest.Config) -> str | None:
    """The real server's URL from ``--plumberd-url`` or ``$PLUMBERD_TEST_URL``, if any."""
    option = config.getoption("--plumberd-url", default=None)
    url = option if isinstance(option, str) and option else os.environ.get(URL_ENV_VAR, "")
    return url.strip() or None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip ``real_server`` tests without a real server, ``inprocess_only`` tests with one."""
    url = real_server_url(item.config)
    if url is None and item.get_closest_marker("real_server") is not None:
        pytest.skip(
            f"needs a real EventStoreDB/KurrentDB: set ${URL_ENV_VAR} or pass --plumberd-url"
        )
    if url is not None and item.get_closest_marker("inprocess_only") is not None:
        pytest.skip(
            "needs the in-process test server (fault injection or inspection); "
            f"this run targets a real server ({URL_ENV_VAR})"
        )


@pytest.fixture
def eventstore() -> Iterator[InMemoryEventStore]:
    """A started in-process server, fresh for each test and stopped after it."""
    from plumberd_logging.testing._server import InMemoryEventStore

    with InMemoryEventStore() as store:
        yield store


@pytest.fixture
def eventstore_url(request: pytest.FixtureRequest) -> str:
    """The URL to connect to: a configured real server, else the in-process ``eventstore``.

    A test that also uses ``eventstore`` always gets the in-process server's URL, so what it
    inspects is what its client talks to.
    """
    url = real_server_url(request.config)
    if url is not None and "eventstore" not in request.fixturenames:
        return url
    store: InMemoryEventStore = request.getfixturevalue("eventstore")
    return store.url


@pytest.fixture
def eventstore_client(eventstore_url: str) -> Iterator[KurrentDBClient]:
    """A ``KurrentDBClient`` connected to ``eventstore_url``, closed after the test."""
    from kurrentdbclient import KurrentDBClient

    client = KurrentDBClient(eventstore_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def kurrentdb_container() -> Iterator[str]:
    """The URL of a KurrentDB container for this session; skips when Docker is unavailable."""
    try:
        from docker.errors import DockerException
        from testcontainers.core.container import DockerContainer
    except ImportError as e:
        pytest.skip(f"testcontainers is not installed ({e}); pip install testcontainers")
    image = os.environ.get(_IMAGE_ENV_VAR, DEFAULT_KURRENTDB_IMAGE)
    prefix = "EVENTSTORE" if "eventstore" in image.lower() else "KURRENTDB"
    try:
        # Raises DockerException in the constructor when no engine is reachable.
        container = (
            DockerContainer(image)
            .with_env(f"{prefix}_INSECURE", "true")
            .with_env(f"{prefix}_MEM_DB", "true")
            .with_exposed_ports(2113)
        )
        container.start()
    except DockerException as e:
        pytest.skip(f"no Docker engine reachable for a KurrentDB container: {e}")
    try:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(2113)
        url = f"esdb://{host}:{port}?tls=false"
        _wait_until_serving(url, _CONTAINER_READY_TIMEOUT)
        yield url
    finally:
        container.stop()


def _wait_until_serving(url: str, timeout: float) -> None:
    """Poll the server with a real client until it answers a read."""
    from kurrentdbclient import KurrentDBClient
    from kurrentdbclient.exceptions import KurrentDBClientError

    deadline = time.monotonic() + timeout
    client = KurrentDBClient(url)
    try:
        while True:
            try:
                client.get_commit_position(timeout=2)
            except KurrentDBClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
            else:
                return
    finally:
        client.close()
