"""``trooper serve`` reads a .env in its working directory, under the environment, and the cloud keys
saved from the chat page, and never prints a value it read."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import httpx

from tests.processes import TrooperProcess

KEY = "sk-ant-from-dotenv-0123456789abcdef"


def test_serve_reads_the_env_file_of_its_directory_and_the_environment_wins(
    trooper_process: Callable[..., TrooperProcess], tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(f"# my keys\nCLAUDE_API_KEY={KEY}\nTROOPER_DB={tmp_path / 'from-file.db'}\n")
    # TROOPER_ENV_FILE: the test harness turns the file off for every other test.
    trooper = trooper_process(cwd=tmp_path, TROOPER_ENV_FILE=".env", TROOPER_DB=str(tmp_path / "from-env.db"))

    health = httpx.get(f"{trooper.url}/health", trust_env=False, timeout=10).json()
    assert health["cloud"] == ["claude"], "the key came from .env"
    trooper.terminate()
    output = "".join(trooper.output)
    assert "trooper: read .env: CLAUDE_API_KEY" in output, "it says which names it took, not which values"
    assert f"store:      {tmp_path / 'from-env.db'}" in output, "the environment's TROOPER_DB won"
    assert KEY not in output


SAVED_KEY = "sk-ant-saved-from-the-page-0123456789abcdef"


def test_a_key_saved_while_running_is_read_at_the_next_start(
    trooper_process: Callable[..., TrooperProcess], tmp_path: Path
) -> None:
    keys_file = tmp_path / "private" / "keys.env"
    env = {"TROOPER_KEYS_FILE": str(keys_file), "TROOPER_DB": str(tmp_path / "trooper.db")}
    first = trooper_process(**env)
    added = httpx.post(f"{first.url}/api/cloud-keys", json={"provider": "claude", "key": SAVED_KEY, "save": True},
                       trust_env=False, timeout=10)
    assert added.status_code == 200, added.text
    assert first.terminate() == 0

    second = trooper_process(**env)
    health = httpx.get(f"{second.url}/health", trust_env=False, timeout=10).json()
    assert health["cloud"] == ["claude"], "the saved key came back"
    sources = httpx.get(f"{second.url}/api/cloud-keys", trust_env=False, timeout=10).json()["providers"]
    assert sources[0] == {"name": "claude", "variable": "CLAUDE_API_KEY", "configured": True, "source": "settings"}
    second.terminate()
    output = "".join(first.output + second.output)
    assert f"trooper: read {keys_file}: CLAUDE_API_KEY" in output
    assert "cloud key for claude added while running (saved to" in output
    assert SAVED_KEY not in output
