"""The pytest plugin, exercised through ``pytester`` (a pytest run inside the test)."""

from __future__ import annotations

import pytest

from plumberd_logging.testing.pytest_plugin import URL_ENV_VAR

pytestmark = pytest.mark.inprocess_only

FAKE_URL = "esdb://example.invalid:2113?tls=false"


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest inline, without plugins that only slow the inner session down."""
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


def test_eventstore_is_fresh_for_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from kurrentdbclient import NewEvent, StreamState

        def test_writes_and_breaks_things(eventstore, eventstore_client):
            eventstore_client.append_to_stream(
                "s", current_version=StreamState.NO_STREAM,
                events=[NewEvent(type="A", data=b"{}")])
            eventstore.faults.fail("Read", times=None)
            assert eventstore.calls["BatchAppend"] == 1

        def test_sees_none_of_it(eventstore, eventstore_client):
            assert eventstore.streams() == []
            assert list(eventstore.faults) == []
            assert eventstore.calls["BatchAppend"] == 0
            assert eventstore_client.get_current_version("s") is StreamState.NO_STREAM
        """
    )

    _run(pytester).assert_outcomes(passed=2)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_real_server_url_replaces_the_in_process_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    pytester.makepyfile(
        f"""
        def test_url(eventstore_url, request):
            assert eventstore_url == {FAKE_URL!r}
            assert "eventstore" not in request.fixturenames  # no in-process server started
        """
    )
    args: list[str] = []
    if how == "option":
        args += ["--plumberd-url", FAKE_URL]
    else:
        monkeypatch.setenv(URL_ENV_VAR, FAKE_URL)

    _run(pytester, *args).assert_outcomes(passed=1)


def test_a_test_using_eventstore_talks_to_it_even_with_a_real_server_configured(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_inspects(eventstore, eventstore_url):
            assert eventstore_url == eventstore.url
        """
    )

    _run(pytester, "--plumberd-url", FAKE_URL).assert_outcomes(passed=1)


def test_markers_skip_with_a_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(URL_ENV_VAR, raising=False)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.real_server
        def test_needs_real():
            pass

        @pytest.mark.inprocess_only
        def test_needs_fake():
            pass
        """
    )

    without_url = _run(pytester, "-rs", "--strict-markers")
    without_url.assert_outcomes(passed=1, skipped=1)
    without_url.stdout.fnmatch_lines(["*needs a real EventStoreDB/KurrentDB*PLUMBERD_TEST_URL*"])

    with_url = _run(pytester, "-rs", "--plumberd-url", FAKE_URL)
    with_url.assert_outcomes(passed=1, skipped=1)
    with_url.stdout.fnmatch_lines(["*needs the in-process test server*"])


def test_container_fixture_skips_cleanly_without_docker(pytester: pytest.Pytester) -> None:
    from docker.errors import DockerException

    try:
        import docker

        docker.from_env().close()
    except DockerException:
        pass
    else:
        pytest.skip("a Docker engine is reachable here; this checks the skip without one")
    pytester.makepyfile(
        """
        def test_real(kurrentdb_container):
            raise AssertionError("never reached without Docker")
        """
    )

    result = _run(pytester, "-rs")

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no Docker engine reachable for a KurrentDB container*"])
