"""The .env file: what it sets, that the environment wins, and that .env.example works copied as is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trooper.config import ConfigError, Settings, environment_with_env_file, read_env_file

REPO = Path(__file__).resolve().parents[1]


def test_env_file_lines_comments_exports_and_quotes(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# Trooper\n\nCLAUDE_API_KEY=sk-ant-abc\nexport OLLAMA_MODEL=qwen2.5:7b\n"
        "TROOPER_DB=\"/data/my store.db\"\nTROOPER_TOKEN='a#b'\nTROOPER_PORT=4000 # the port\nGEMINI_API_KEY=\n"
    )
    assert read_env_file(env_file) == {
        "CLAUDE_API_KEY": "sk-ant-abc",
        "OLLAMA_MODEL": "qwen2.5:7b",
        "TROOPER_DB": "/data/my store.db",
        "TROOPER_TOKEN": "a#b",
        "TROOPER_PORT": "4000",
        "GEMINI_API_KEY": "",
    }


def test_a_malformed_line_names_its_number_not_its_text(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CLAUDE_API_KEY=ok\nsk-ant-pasted-alone\n")
    with pytest.raises(ConfigError) as raised:
        read_env_file(env_file)
    assert "line 2" in str(raised.value) and "sk-ant-pasted-alone" not in str(raised.value)


def test_the_environment_wins_over_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CLAUDE_API_KEY=from-file\nOLLAMA_MODEL=from-file\n")
    environment = environment_with_env_file({"OLLAMA_MODEL": "from-environment", "PATH": "/bin"})
    assert environment.variables == {"CLAUDE_API_KEY": "from-file", "OLLAMA_MODEL": "from-environment", "PATH": "/bin"}
    assert environment.env_file == Path(".env") and environment.from_file == ["CLAUDE_API_KEY"]


def test_trooper_env_file_names_another_file_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("OLLAMA_MODEL=from-dot-env\n")
    (tmp_path / "other.env").write_text("OLLAMA_MODEL=from-other\n")
    assert environment_with_env_file({"TROOPER_ENV_FILE": "other.env"}).variables["OLLAMA_MODEL"] == "from-other"
    assert "OLLAMA_MODEL" not in environment_with_env_file({"TROOPER_ENV_FILE": ""}).variables
    assert environment_with_env_file({}).from_file == ["OLLAMA_MODEL"]


def test_no_env_file_is_no_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert environment_with_env_file({"A": "1"}) == ({"A": "1"}, None, [])


def test_env_example_copied_to_env_gives_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    assert Settings.from_env(environment_with_env_file({}).variables) == Settings.from_env({})
