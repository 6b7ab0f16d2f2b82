"""Saving a cloud key added while Trooper runs into the keys file (``TROOPER_KEYS_FILE``,
``~/.trooper/keys.env``), which ``trooper serve`` reads at its next start.

The file is ``.env``-shaped (``CLAUDE_API_KEY=...``), mode 0600 and replaced in one step
(``trooper.private_file``); lines it already holds for other variables, comments included, are kept.
"""

from __future__ import annotations

from pathlib import Path

from trooper.config import env_file_assignment
from trooper.private_file import replace_private

HEADER = "# Cloud keys saved by Trooper (the chat page or trooper.configure). Read by `trooper serve` at start.\n"


def save_key(path: Path, variable: str, key: str) -> None:
    """Make ``path`` assign ``key`` to ``variable``: the line that did is replaced, else one is added."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = HEADER.splitlines()
    kept = [line for line in lines if _assigned_name(line) != variable]
    replace_private(path, "\n".join([*kept, f"{variable}={key}"]) + "\n")


def _assigned_name(line: str) -> str | None:
    try:
        assignment = env_file_assignment(line)
    except ValueError:
        return None  # not an assignment: kept as it is, as the person wrote it
    return assignment[0] if assignment else None
