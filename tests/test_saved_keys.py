"""Saving a cloud key: mode 0600 whatever the file was, replaced in one step, other lines kept,
read back by ``trooper serve``'s settings."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trooper import private_file
from trooper.config import environment_with_env_file
from trooper.saved_keys import save_key

KEY = "sk-ant-saved-0123456789abcdef"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_0600_in_a_0700_directory_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "home" / ".trooper" / "keys.env"
    old_umask = os.umask(0)  # the most permissive umask a process can have changes nothing
    try:
        save_key(path, "CLAUDE_API_KEY", KEY)
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    variables = environment_with_env_file({"TROOPER_ENV_FILE": "", "TROOPER_KEYS_FILE": str(path)}).variables
    assert variables["CLAUDE_API_KEY"] == KEY
    assert [p.name for p in path.parent.iterdir()] == ["keys.env"], "no temporary file is left behind"


def test_a_key_replaces_its_line_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "keys.env"
    path.write_text("# mine\nexport CLAUDE_API_KEY=old-key\nGEMINI_API_KEY=AIza-gemini-key\nCLAUDE_API_KEY=older\n")
    path.chmod(0o644)  # written by hand, readable by others: the saved file is not
    save_key(path, "CLAUDE_API_KEY", KEY)
    assert path.read_text() == f"# mine\nGEMINI_API_KEY=AIza-gemini-key\nCLAUDE_API_KEY={KEY}\n"
    assert mode(path) == 0o600
    save_key(path, "OPENAI_API_KEY", "sk-openai-0123456789abcdefgh")
    assert path.read_text().splitlines()[-2:] == [f"CLAUDE_API_KEY={KEY}", "OPENAI_API_KEY=sk-openai-0123456789abcdefgh"]


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys.env"
    path.write_text("CLAUDE_API_KEY=old-key\n")

    def no_rename(source: str, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(private_file.os, "replace", no_rename)
    with pytest.raises(OSError):
        save_key(path, "CLAUDE_API_KEY", KEY)
    assert path.read_text() == "CLAUDE_API_KEY=old-key\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keys.env"], "the temporary file is removed"
