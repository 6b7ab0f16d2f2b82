"""The .env file and the saved keys file: what they set, that the environment wins (then .env), and
that .env.example works copied as is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import trooper.config
from trooper.config import ConfigError, FileRead, Settings, environment_with_env_file, read_env_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def keys_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default keys file, moved out of the home of the person running the tests (absent until written)."""
    path = tmp_path / "home" / ".trooper" / "keys.env"
    monkeypatch.setattr(trooper.config, "KEYS_FILE", str(path))
    return path


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
    assert environment.files_read == [FileRead(Path(".env"), ["CLAUDE_API_KEY"])]


def test_trooper_env_file_names_another_file_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("OLLAMA_MODEL=from-dot-env\n")
    (tmp_path / "other.env").write_text("OLLAMA_MODEL=from-other\n")
    assert environment_with_env_file({"TROOPER_ENV_FILE": "other.env"}).variables["OLLAMA_MODEL"] == "from-other"
    assert "OLLAMA_MODEL" not in environment_with_env_file({"TROOPER_ENV_FILE": ""}).variables
    assert environment_with_env_file({}).files_read == [FileRead(Path(".env"), ["OLLAMA_MODEL"])]


def test_no_env_file_is_no_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert environment_with_env_file({"A": "1"}) == ({"A": "1"}, [])


def test_env_example_copied_to_env_gives_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    assert Settings.from_env(environment_with_env_file({}).variables) == Settings.from_env({})


def test_saved_keys_come_under_the_environment_and_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys_file: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    keys_file.parent.mkdir(parents=True)
    keys_file.write_text("# saved\nCLAUDE_API_KEY=saved-claude\nGEMINI_API_KEY=saved-gemini\nOPENAI_API_KEY=saved-openai\n")
    (tmp_path / ".env").write_text("GEMINI_API_KEY=from-dot-env\n")
    environment = environment_with_env_file({"OPENAI_API_KEY": "from-environment"})
    assert {name: environment.variables[name] for name in ("CLAUDE_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY")} == {
        "CLAUDE_API_KEY": "saved-claude", "GEMINI_API_KEY": "from-dot-env", "OPENAI_API_KEY": "from-environment",
    }
    assert environment.files_read == [FileRead(Path(".env"), ["GEMINI_API_KEY"]), FileRead(keys_file, ["CLAUDE_API_KEY"])]
    assert Settings.from_env(environment.variables).keys_file == str(keys_file)


def test_the_keys_file_sets_keys_only(tmp_path: Path, keys_file: Path) -> None:
    keys_file.parent.mkdir(parents=True)
    keys_file.write_text("CLAUDE_API_KEY=saved-claude\nTROOPER_BIND=0.0.0.0\nCLAUDE_URL=http://elsewhere\n")
    variables = environment_with_env_file({"TROOPER_ENV_FILE": ""}).variables
    assert variables["CLAUDE_API_KEY"] == "saved-claude"
    assert "TROOPER_BIND" not in variables and "CLAUDE_URL" not in variables


def test_trooper_keys_file_names_another_file_or_none(tmp_path: Path, keys_file: Path) -> None:
    other = tmp_path / "other-keys.env"
    other.write_text("CLAUDE_API_KEY=from-other\n")
    keys_file.parent.mkdir(parents=True)
    keys_file.write_text("CLAUDE_API_KEY=from-default\n")
    base = {"TROOPER_ENV_FILE": ""}
    assert environment_with_env_file({**base, "TROOPER_KEYS_FILE": str(other)}).variables["CLAUDE_API_KEY"] == "from-other"
    assert "CLAUDE_API_KEY" not in environment_with_env_file({**base, "TROOPER_KEYS_FILE": ""}).variables
    assert Settings.from_env({"TROOPER_KEYS_FILE": ""}).keys_file == ""
    assert Settings.from_env({"TROOPER_KEYS_FILE": "~/k.env"}).keys_file == str(Path.home() / "k.env")


def test_settings_name_their_cloud_keys_by_provider() -> None:
    settings = Settings().with_cloud_key("gemini", "AIza-key")
    assert settings.cloud_key("gemini") == "AIza-key" and settings.cloud_keys() == {"claude": False, "gemini": True, "openai": False}
    with pytest.raises(ValueError):
        settings.with_cloud_key("mistral", "key")
