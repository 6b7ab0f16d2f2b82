"""``%load_ext trooper``: registers the ``%trooper`` magics; silent, idempotent, no network call.

The server is found or started on the first magic that needs it (see ``workspace``).
"""

from __future__ import annotations

import sys
from typing import Any

from trooper.notebook.magics import TrooperMagics
from trooper.notebook.workspace import workspace


def load_ipython_extension(ipython: Any) -> None:
    if "TrooperMagics" in ipython.magics_manager.registry:
        return
    ipython.register_magics(TrooperMagics(ipython, workspace()))
    # `trooper.sessions()` right after `%load_ext trooper`, as the README shows, without an import.
    ipython.push({"trooper": sys.modules["trooper"]}, interactive=False)


def unload_ipython_extension(ipython: Any) -> None:
    manager = ipython.magics_manager
    if manager.registry.pop("TrooperMagics", None) is None:
        return
    for kind in ("line", "cell"):
        manager.magics[kind].pop("trooper", None)
    workspace().close()
