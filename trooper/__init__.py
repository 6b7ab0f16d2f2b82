"""Trooper: a local-first LLM proxy and notebook workspace.

The public API is this short list; each name is imported on first use, so ``import trooper``
(and ``%load_ext trooper``) stays fast and loads neither pandas nor ipywidgets.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # session data as pandas DataFrames
    "connect": "trooper.notebook.dataframes",
    "sessions": "trooper.notebook.dataframes",
    "turns": "trooper.notebook.dataframes",
    "attempts": "trooper.notebook.dataframes",
    "events": "trooper.notebook.dataframes",
    "sitreps": "trooper.notebook.dataframes",
    # the notebook workspace
    "chat": "trooper.notebook",
    "ChatWidget": "trooper.notebook.widget",
    "plot_session": "trooper.notebook",
    "configure": "trooper.notebook.cloud_keys",
    # configuration
    "Settings": "trooper.config",
}

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trooper' has no attribute {name!r}")
    return getattr(import_module(module), name)


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext trooper``: the notebook magics (imported only when loaded)."""
    from trooper.notebook.extension import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    from trooper.notebook.extension import unload_ipython_extension as unload

    unload(ipython)
