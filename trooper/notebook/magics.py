"""``%trooper`` and ``%%trooper``: Trooper from a notebook cell.

    %trooper status      server, local tier, cloud chain, current session
    %trooper sessions    every session as a DataFrame
    %trooper chat        the ChatWidget on the current session
    %trooper escalate    answer the last question with the cloud; later turns go there too
    %trooper local       back to the local model
    %%trooper            the cell is a chat turn; the answer streams into the output
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from trooper.notebook.display import RichAnswer, stream_into_output
from trooper.notebook.workspace import Workspace
from trooper.wording import counted

COMMANDS = ("status", "sessions", "chat", "escalate", "local")


@magics_class
class TrooperMagics(Magics):
    def __init__(self, shell: Any, workspace: Workspace) -> None:
        super().__init__(shell)
        self.workspace = workspace

    @magic_arguments()
    @argument("command", nargs="?", choices=COMMANDS, help="line magic: what to do (default: status)")
    @argument(
        "--route", choices=("local", "cloud", "auto"), default=None,
        help="cell magic: the route of this one turn (default: the session's route)",
    )
    @argument("--new", action="store_true", help="start a new chat session first")
    @line_cell_magic
    def trooper(self, line: str, cell: str | None = None) -> Any:
        """Chat with Trooper (``%%trooper``) or manage the chat (``%trooper status|sessions|chat|escalate|local``)."""
        # IPython hands a line magic the rest of the line, comment included: "%trooper chat  # …".
        args = parse_argstring(self.trooper, line.split("#", 1)[0])
        if cell is not None:
            if args.command is not None:
                raise UsageError(f"%%trooper takes the cell as the message; '{args.command}' is a line magic command")
            return self._turn(cell, args.route, args.new)
        if args.route is not None:
            raise UsageError("--route applies to %%trooper cells")
        if args.new:
            self.workspace.ensure_session(new=True)
        command = args.command or "status"
        return getattr(self, f"_{command}")()

    def _turn(self, content: str, route: str | None, new: bool) -> RichAnswer:
        content = content.strip()
        if not content:
            raise UsageError("%%trooper: the cell is empty; write the message below the magic")
        session_id = self.workspace.ensure_session(new)
        answer = stream_into_output(self.workspace.client.send(session_id, content, route), session_id)
        self.workspace.refresh_widget()
        return answer

    def _status(self) -> None:
        client = self.workspace.client
        health = client.health()
        local = health.get("local") or {}
        local_text = (
            f"{local.get('tier')} ({local.get('model')}, context {local.get('context_window')})"
            if local.get("tier") else str(local.get("message", "none"))
        )
        lines = [
            f"server:     {client.server.url} (Trooper {health.get('version', '?')})",
            f"local tier: {local_text}",
            f"cloud:      {', '.join(health.get('cloud') or []) or 'none (set CLAUDE_API_KEY to enable escalation)'}",
            f"escalation: {', '.join(health.get('escalation') or []) or 'none'}",
        ]
        if self.workspace.session_id:
            session = client.session(self.workspace.session_id)
            lines.append(f"session:    {session['id']} (route {session['route']}, "
                         f"{counted(len(session['messages']), 'message')})")
        else:
            lines.append("session:    none yet (%%trooper or %trooper chat starts one)")
        print("\n".join(lines))

    def _sessions(self) -> Any:
        self.workspace.connect()  # points trooper.notebook.dataframes at this kernel's server
        import trooper.notebook.dataframes

        return trooper.notebook.dataframes.sessions()

    def _chat(self) -> Any:
        return self.workspace.chat()

    def _escalate(self) -> RichAnswer:
        if not self.workspace.session_id:
            raise UsageError("nothing to escalate yet: send a message with %%trooper or the chat widget first")
        session_id = self.workspace.session_id
        answer = stream_into_output(self.workspace.client.escalate(session_id), session_id)
        self.workspace.refresh_widget()
        return answer

    def _local(self) -> None:
        if not self.workspace.session_id:
            raise UsageError("no chat session yet: send a message with %%trooper or the chat widget first")
        route = self.workspace.client.back_to_local(self.workspace.session_id)
        self.workspace.refresh_widget()
        print(f"route: {route}")
