"""Each setting is declared once (``Settings`` in trooper/config.py): the README's table and
.env.example are generated from the declarations and must match them."""

from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from trooper.config import Settings, documented_variables, variable
from trooper.setting import setting
from trooper.settings_docs import TABLE_START, main, stale_files

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_table_and_env_example_match_the_declarations() -> None:
    stale = stale_files(REPO, write=False)
    assert not stale, f"{[path.name for path in stale]} differ from trooper/config.py: run `python -m trooper.settings_docs`"


def test_every_variable_is_in_the_readme_table_once() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    names = [v.name for v in documented_variables()]
    assert len(names) == len(set(names))
    assert all(readme.count(f"| `{name}` |") == 1 for name in names)


def test_each_written_default_reads_back_as_the_default() -> None:
    defaults = Settings()
    for settings_field in fields(Settings):
        written = variable(settings_field.name)
        read = Settings.from_env({written.name: written.written_default})
        assert getattr(read, settings_field.name) == getattr(defaults, settings_field.name), written.name


def test_the_generated_files_hold_no_secret_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLAUDE_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY", "TROOPER_TOKEN"):
        monkeypatch.setenv(name, f"secret-{name.lower()}-0123456789")
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    assert main(["--root", str(tmp_path)]) == 0
    written = (tmp_path / "README.md").read_text(encoding="utf-8") + (tmp_path / ".env.example").read_text(encoding="utf-8")
    assert "secret-" not in written


def test_the_command_finds_and_rewrites_a_stale_file(tmp_path: Path) -> None:
    for name in ("README.md", ".env.example"):
        shutil.copy(REPO / name, tmp_path / name)
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("| `TROOPER_PORT` | `3000` |", "| `TROOPER_PORT` | `8080` |"))
    (tmp_path / ".env.example").unlink()
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--check", "--root", str(tmp_path)]) == 0
    assert "| `TROOPER_PORT` | `3000` |" in readme.read_text(encoding="utf-8")


def test_a_readme_without_the_markers_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Trooper\n")
    with pytest.raises(ValueError, match="markers"):
        stale_files(tmp_path, write=False)
    assert TABLE_START not in (tmp_path / "README.md").read_text()


def test_a_secret_setting_cannot_have_a_default() -> None:
    with pytest.raises(ValueError, match="secret"):
        setting("sk-default", "SOME_API_KEY", "a key", secret=True)
