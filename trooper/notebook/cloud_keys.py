"""``trooper.configure(claude_api_key=...)``: give the Trooper this kernel uses a cloud key while
it runs, as the chat page's "Add a cloud key" does (``POST /api/cloud-keys``); no restart."""

from __future__ import annotations

from typing import Any

from trooper.notebook.workspace import workspace


def configure(
    *,
    claude_api_key: str | None = None,
    gemini_api_key: str | None = None,
    openai_api_key: str | None = None,
    save: bool = False,
) -> dict[str, Any]:
    """Add cloud keys to the Trooper this kernel talks to (found or started on first use): ↑ Escalate
    and the cloud chain use them from the next turn on, for as long as that server runs. With
    ``save=True`` the server also saves them in its keys file (``~/.trooper/keys.env`` on its
    machine, mode 0600) and reads them at its next start.

    Returns the server's answer: which providers have a key and where it came from
    (``providers``), who answers an escalation (``escalation``), where keys are saved
    (``keys_file``) — never a key. A key the server refuses raises ``ChatAPIError`` saying why.
    """
    given = {"claude": claude_api_key, "gemini": gemini_api_key, "openai": openai_api_key}
    keys = {provider: key for provider, key in given.items() if key is not None}
    if not keys:
        raise TypeError("configure() needs a key, e.g. trooper.configure(claude_api_key=getpass())")
    client = workspace().client
    answer: dict[str, Any] = {}
    for provider, key in keys.items():
        # Pasted keys often bring a space or a newline along; the server refuses whitespace.
        answer = client.add_cloud_key(provider, key.strip() if isinstance(key, str) else key, save=save)
    return answer
