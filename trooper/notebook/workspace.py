"""What one kernel shares between the magics, the widget and the helpers.

The server is found (or started) on first use, not when the extension loads, so ``%load_ext
trooper`` costs no network call. The current chat session is shared: ``%%trooper`` cells and
``%trooper chat`` continue the same conversation.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from trooper.config import Settings
from trooper.notebook.client import ChatClient
from trooper.notebook.connection import Server, find_or_start

if TYPE_CHECKING:
    from trooper.notebook.widget import ChatWidget


class Workspace:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: ChatClient | None = None
        self.session_id = ""
        self.widget: ChatWidget | None = None

    def connect(self) -> ChatClient:
        """The chat client of this kernel's server, found or started on first use (which also
        points ``trooper.notebook.dataframes`` at that server)."""
        return self.client

    @property
    def client(self) -> ChatClient:
        with self._lock:
            if self._client is None:
                server = find_or_start(Settings.from_env())
                self._connect_frames(server)
                self._client = ChatClient(server)
            return self._client

    @property
    def server(self) -> Server:
        return self.client.server

    def ensure_session(self, new: bool = False) -> str:
        if new or not self.session_id:
            self.session_id = self.client.create_session()
        return self.session_id

    def chat(self, session: str | None = None) -> ChatWidget:
        """A ChatWidget on ``session``, else on the current session (one is created on first send)."""
        from trooper.notebook.widget import ChatWidget

        if session is not None:
            self.session_id = session
        widget = ChatWidget(self.client, self.session_id)
        # The widget creates the session lazily; later magics continue that one.
        widget.observe(lambda change: setattr(self, "session_id", change["new"]), names="session_id")
        self.widget = widget
        return widget

    def refresh_widget(self) -> None:
        if self.widget is not None and self.widget.session_id == self.session_id:
            self.widget.refresh()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = None
            self.session_id = ""
            self.widget = None

    @staticmethod
    def _connect_frames(server: Server) -> None:
        # So trooper.notebook.dataframes (and plot_session) read the very server this kernel chats with.
        import trooper.notebook.dataframes

        trooper.notebook.dataframes.connect(server.url)


_workspace = Workspace()


def workspace() -> Workspace:
    return _workspace


def server_url() -> str:
    """The URL of the Trooper this kernel uses (found or started on first use): for SDK clients."""
    return _workspace.server.url


def chat(session: str | None = None) -> ChatWidget:
    """A ChatWidget connected to the shared Trooper server (found or started on first use)."""
    return _workspace.chat(session)
