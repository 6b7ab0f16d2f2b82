"""The ``jupyter_serverproxy_servers`` entry point: a "Trooper" launcher tile at ``<jupyter>/trooper/``.

One Trooper per machine. The proxy targets the fixed ``TROOPER_PORT`` (not a port of its own),
and ``command`` is a callable that jupyter-server-proxy calls on the first request: when a
Trooper already answers on that port (started by a kernel, ``trooper serve`` or an agent) it
returns ``[]``, which jupyter-server-proxy treats as "already running, just proxy to it";
otherwise it returns ``trooper serve`` for jupyter-server-proxy to supervise, and the kernels'
own discovery then finds that server on the same port.

Requests through the proxy are behind Jupyter's authentication. They carry the browser's
``Host``, a public name on Binder or JupyterHub, so they also carry the proxy key
(``X-Trooper-Proxy-Key``, see ``trooper.server.hosts``) that lets such a name reach a Trooper on
loopback; a web page rebinding its own name to 127.0.0.1 has no key. Only responses to requests sent
with ``Accept: text/event-stream`` stream through it (the dashboard's live feed, the chat page);
others are buffered, which is why the notebook widget talks to the server directly.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from trooper.config import Settings
from trooper.notebook.connection import START_TIMEOUT_SECONDS, local_url, probe
from trooper.server.hosts import PROXY_KEY_HEADER, ensure_proxy_key

ICON_NAME = "trooper.svg"
log = logging.getLogger(__name__)


def icon_path() -> str:
    """The launcher icon: from the source checkout, else where packaging installed it."""
    checkout = Path(__file__).resolve().parents[2] / "jupyter_extension" / ICON_NAME
    if checkout.is_file():
        return str(checkout)
    from jupyter_core.paths import jupyter_path

    for candidate in jupyter_path("trooper", ICON_NAME):
        if Path(candidate).is_file():
            return candidate
    return ""


def server_command(port: int) -> list[str]:
    """``[]`` to attach to the Trooper already on ``port``, else the command that starts one there."""
    settings = Settings.from_env().with_overrides(port=port)
    if probe(local_url(settings), settings.token) is not None:
        return []
    return [sys.executable, "-m", "trooper", "serve", "--port", str(port)]


def proxy_key_headers(settings: Settings) -> dict[str, str]:
    """The header that lets the proxy's requests name Jupyter's public host; none when no key can be kept."""
    try:
        return {PROXY_KEY_HEADER: ensure_proxy_key(settings.proxy_key_file)}
    except OSError as exc:
        # Jupyter must start regardless: a Jupyter reached as localhost needs no key.
        log.warning("Trooper: no proxy key at %s (%s): only a Jupyter on localhost can proxy to Trooper",
                    settings.proxy_key_file, exc.strerror or exc)
        return {}


def setup_trooper_proxy() -> dict[str, Any]:
    settings = Settings.from_env()
    return {
        "command": server_command,
        "port": settings.port,
        "request_headers_override": proxy_key_headers(settings),
        # Requests are rewritten to "/" + the path after the prefix: Trooper's pages use relative URLs.
        "absolute_url": False,
        "timeout": START_TIMEOUT_SECONDS,
        "new_browser_tab": True,
        "launcher_entry": {
            "title": "Trooper",
            "icon_path": icon_path(),
            "path_info": "trooper/dashboard",
            "category": "Notebook",
        },
    }
