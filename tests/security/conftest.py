"""One Trooper for a whole fuzz module: Claude and a local Ollama (both fakes, answering by echo)."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.behaviours import echo
from tests.fakes.ollama import FakeOllama
from tests.harness import TrooperThread, settings_from

CLAUDE_KEY = "sk-ant-fuzz-configured-0123456789abcdef"
#: Never empty: an upstream answering nothing is a failure Trooper rightly reports, not what is fuzzed here.
ECHO = echo(lambda request: "echo: " + request.last_user_text())


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[TrooperThread]:
    with FakeAnthropic(default=ECHO) as claude, FakeOllama(default=ECHO) as ollama:
        server = TrooperThread(
            settings_from(
                {
                    "CLAUDE_API_KEY": CLAUDE_KEY, "CLAUDE_URL": claude.messages_url, "FALLBACK_URL": ollama.api_chat_url,
                    "TROOPER_MAX_BODY_BYTES": "200000",
                }
            )
        ).start()
        yield server
        server.stop()
