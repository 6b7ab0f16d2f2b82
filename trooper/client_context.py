"""What an agent puts into a user's turn that the person did not type.

Claude Code sends its context (CLAUDE.md, the date, reminders about tools) inside the user's turn,
wrapped in ``<system-reminder>`` tags, ahead of or beside what the person wrote. It is not what
the session is about: the session list's first words and the SITREP read the turn without it.
"""

from __future__ import annotations

import re

_CLIENT_CONTEXT = re.compile(r"<system-reminder>.*?(?:</system-reminder>|$)", re.DOTALL)


def without_client_context(text: str) -> str:
    """``text`` with the context an agent added left out (each span becomes one space)."""
    return _CLIENT_CONTEXT.sub(" ", text) if "<system-reminder>" in text else text
