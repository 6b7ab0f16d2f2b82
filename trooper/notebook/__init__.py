"""Trooper in Jupyter: ``%load_ext trooper``, the ChatWidget, session plots, the proxy launcher.

Kept import-light: ``%load_ext trooper`` must be fast, so ipywidgets, pandas and matplotlib are
imported only by the helpers that need them.
"""

from trooper.notebook.extension import load_ipython_extension, unload_ipython_extension
from trooper.notebook.plots import plot_session
from trooper.notebook.workspace import chat, server_url

__all__ = ["chat", "load_ipython_extension", "plot_session", "server_url", "unload_ipython_extension"]
