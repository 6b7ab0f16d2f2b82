"""Which host names may reach a Trooper: the defence against DNS rebinding.

A web page on ``evil.example`` can make its name resolve to 127.0.0.1 and then call
``http://evil.example:3000``: the browser treats that as the page's own origin, so the Origin
check passes and the page can read the answers (every conversation, and the cloud keys' use).
What the page cannot change is the ``Host`` header: it names the page's domain. So a Trooper on
loopback without an access token answers only requests whose ``Host`` is a loopback name
(``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``[::1]``), as Jupyter and Ollama do.

jupyter-server-proxy forwards the browser's ``Host``, which on Binder or JupyterHub is a public
name. Its requests carry the proxy key instead: a random secret in a file only this user can
read (``TROOPER_PROXY_KEY_FILE``), created by the proxy's entry point and sent by
jupyter-server-proxy as ``X-Trooper-Proxy-Key``. A rebinding page cannot know it.

With ``TROOPER_TOKEN`` the token already guards every route, and a Trooper bound beyond
loopback (``--insecure``) is reached by other names on purpose: neither checks the host.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from trooper.errors import TrooperError
from trooper.private_file import private_temporary
from trooper.server.secret import same_secret

if TYPE_CHECKING:
    import tornado.httputil

    from trooper.config import Settings

PROXY_KEY_HEADER = "X-Trooper-Proxy-Key"


def host_name(host: str) -> str:
    """The name of a ``Host`` header value, without its port or IPv6 brackets, lowercase."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") > 1:  # an IPv6 address without brackets has no port to drop
        return host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


@lru_cache(maxsize=256)  # every request asks, nearly always of the same one or two names
def is_loopback_name(name: str) -> bool:
    """Whether a host name or address (no port) can only mean this machine."""
    name = name.strip().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def read_proxy_key(path: str) -> str | None:
    """The proxy key in ``path``, or None when there is none yet (or it cannot be read)."""
    try:
        key = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return key or None


def ensure_proxy_key(path: str) -> str:
    """The proxy key in ``path``, created (readable by this user only) when there is none.

    The key is written to a temporary file and linked into place, so two processes starting at
    once agree on one key and neither ever reads a half-written file.
    """
    existing = read_proxy_key(path)
    if existing:
        return existing
    target = Path(path).expanduser()
    with private_temporary(target, secrets.token_urlsafe(32)) as temporary:
        try:
            os.link(temporary, target)
        except FileExistsError:
            pass  # another process linked its key first: use that one
    key = read_proxy_key(str(target))
    if key is None:
        raise OSError(f"cannot read the proxy key back from {target}")
    return key


def checks_host(settings: Settings) -> bool:
    """Whether this Trooper refuses foreign host names: on loopback, without an access token."""
    return not settings.token and is_loopback_name(settings.bind)


def host_refusal(request: tornado.httputil.HTTPServerRequest, settings: Settings) -> TrooperError | None:
    """A 403 for a request that names another host and carries no valid proxy key, else None.

    The key header is removed once read, so nothing past this gate sees it.
    """
    offered = request.headers.get(PROXY_KEY_HEADER)
    if offered is not None:
        del request.headers[PROXY_KEY_HEADER]
    if not checks_host(settings) or is_loopback_name(host_name(request.host)):
        return None
    if offered is not None:
        key = read_proxy_key(settings.proxy_key_file)  # read each time: a key made anew or removed counts at once
        if key is not None and same_secret(offered, key):
            return None
    shown = request.host[:100]
    return TrooperError(
        403,
        f"refused: Host {shown!r} is not a name of this machine (a web page can point its own domain at "
        f"127.0.0.1 to reach a local server). Use http://127.0.0.1:{settings.port}, or set TROOPER_TOKEN "
        "to serve other host names.",
        "permission_error",
    )
