"""The processes of ``deploy/Procfile``, as a Procfile runner (honcho, foreman) starts them: each
line ``name: command`` run by the shell, with the port it is to listen on in ``PORT``."""

from __future__ import annotations

import re
from pathlib import Path

PROCFILE = Path(__file__).resolve().parents[2] / "deploy" / "Procfile"
_LINE = re.compile(r"^([A-Za-z0-9_]+):\s*(.+)$")  # honcho's own rule; other lines are comments


def procfile_command(name: str, procfile: Path = PROCFILE) -> tuple[str, ...]:
    """The argv that runs process ``name`` of ``procfile``."""
    for line in procfile.read_text().splitlines():
        found = _LINE.match(line)
        if found and found.group(1) == name:
            return ("sh", "-c", found.group(2))
    raise LookupError(f"{procfile} has no process {name!r}")
