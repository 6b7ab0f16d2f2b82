"""Shared test configuration: the fake upstreams, a real Trooper server and a real PostgreSQL are plugins every test can use."""

import pytest

pytest_plugins = ["tests.fakes.fixtures", "tests.harness", "tests.postgres"]


@pytest.fixture(autouse=True)
def no_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``.env`` or saved keys file of the person running the tests (a real CLAUDE_API_KEY, say)
    never reaches a ``trooper`` command a test starts; tests of those files undo this."""
    monkeypatch.setenv("TROOPER_ENV_FILE", "")
    monkeypatch.setenv("TROOPER_KEYS_FILE", "")
