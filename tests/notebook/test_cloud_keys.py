"""``trooper.configure(claude_api_key=...)`` against a real Trooper that started local-only: the
kernel's widget escalates right after, without a restart; the key is never in an answer."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Iterator

import httpx
import pytest

import trooper
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.behaviours import reply_text
from tests.harness import TrooperThread
from trooper.notebook.client import ChatAPIError
from trooper.notebook.workspace import workspace

KEY = "sk-ant-from-the-notebook-0123456789abcdef"


@pytest.fixture
def local_only(fake_ollama, make_trooper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[TrooperThread, FakeAnthropic]]:
    """A Trooper with no cloud key (Claude's URL known, its key not), as the kernel's TROOPER_URL."""
    with FakeAnthropic(api_key=KEY) as claude:
        server = make_trooper(
            CLAUDE_URL=claude.messages_url, FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_KEYS_FILE=str(tmp_path / "keys.env")
        )
        monkeypatch.setenv("TROOPER_URL", server.url)
        workspace().close()
        yield server, claude
        workspace().close()


def test_configure_enables_escalation_without_a_restart(local_only, fake_ollama, tmp_path: Path) -> None:
    server, claude = local_only
    widget = trooper.chat()
    fake_ollama.enqueue(reply_text("A local guess."))
    widget.send("Which index fits this query?").wait(30)
    widget.escalate().wait(30)
    assert "No escalation target" in widget.error

    answer = trooper.configure(claude_api_key=f" {KEY}\n")  # as pasted: the spaces go, the key stays
    assert answer["escalation"] == ["claude"] and answer["saved"] is False
    assert KEY not in repr(answer)
    assert not (tmp_path / "keys.env").exists()
    assert httpx.get(f"{server.url}/health").json()["cloud"] == ["claude"]

    claude.enqueue(reply_text("Claude: a partial index on (status, created_at)."))
    widget.escalate().wait(30)
    assert widget.error == "" and widget.route == "cloud"
    assert widget.messages[-1]["provider"] == "claude"
    assert claude.requests[-1].api_key == KEY


def test_configure_saves_when_asked(local_only, tmp_path: Path) -> None:
    answer = trooper.configure(claude_api_key=KEY, save=True)
    saved = tmp_path / "keys.env"
    assert answer["saved"] is True and answer["keys_file"] == str(saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and f"CLAUDE_API_KEY={KEY}" in saved.read_text()


def test_configure_says_what_is_wrong_and_never_echoes_the_key(local_only) -> None:
    with pytest.raises(TypeError):
        trooper.configure()
    with pytest.raises(ChatAPIError) as refused:
        trooper.configure(openai_api_key="sk-has spaces-0123456789abcdef")
    assert refused.value.status == 400 and "no spaces" in refused.value.message
    assert "0123456789abcdef" not in str(refused.value)
