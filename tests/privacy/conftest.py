"""Fixtures shared by the privacy tests: the fake cloud and local upstreams."""

from __future__ import annotations

import pytest

from tests.fakes.behaviours import reply_text


@pytest.fixture
def upstreams(fake_anthropic, fake_ollama):
    """The fake Claude (records every byte it receives) and the fake Ollama, each answering who it is."""
    fake_anthropic.default = reply_text("from the cloud")
    fake_ollama.default = reply_text("from the local model")
    return fake_anthropic, fake_ollama
