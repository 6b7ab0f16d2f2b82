"""``%load_ext trooper`` and the magics in a real IPython shell, against a real Trooper."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from tests.fakes.behaviours import reply_text
from tests.notebook.conftest import CLAUDE_KEY, ChatSetup
from trooper import load_ipython_extension
from trooper.notebook.display import RichAnswer
from trooper.notebook.widget import ChatWidget
from trooper.notebook.workspace import workspace


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    yield ip
    ip.run_line_magic("unload_ext", "trooper")


def run(ip: InteractiveShell, source: str):
    result = ip.run_cell(source)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    if result.error_before_exec is not None:
        raise result.error_before_exec
    return result.result


def test_loading_is_silent_idempotent_and_offline(shell, monkeypatch):
    monkeypatch.setenv("TROOPER_URL", "http://127.0.0.1:9")  # nothing listens: any call would fail
    with capture_output() as captured:
        shell.run_line_magic("load_ext", "trooper")
        load_ipython_extension(shell)  # loading again (IPython's %load_ext also guards) changes nothing
    assert captured.stdout == "" and captured.stderr == "" and captured.outputs == []
    assert "trooper" in shell.magics_manager.magics["line"] and "trooper" in shell.magics_manager.magics["cell"]
    assert list(shell.magics_manager.registry).count("TrooperMagics") == 1

    shell.run_line_magic("unload_ext", "trooper")
    assert "trooper" not in shell.magics_manager.magics["line"]
    assert "trooper" not in shell.magics_manager.magics["cell"]
    assert "TrooperMagics" not in shell.magics_manager.registry


def test_import_pulls_in_no_heavy_module():
    code = (
        "import sys, trooper, trooper.notebook.extension\n"
        "print(sorted(m for m in ('pandas', 'ipywidgets', 'matplotlib', 'trooper.server') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_status_reports_the_real_server(shell, kernel_env: ChatSetup):
    shell.run_line_magic("load_ext", "trooper")
    with capture_output() as captured:
        run(shell, "%trooper status")
    out = captured.stdout
    assert f"server:     {kernel_env.url}" in out
    assert "local tier: ollama (llama3.1:8b" in out
    assert "cloud:      claude" in out
    assert "session:    none yet" in out


def test_cell_magic_streams_and_returns_rich_output_with_metadata(shell, kernel_env: ChatSetup):
    kernel_env.ollama.enqueue(reply_text("Seven days: **Monday** to Sunday.", chunk_delay=0.12))
    shell.run_line_magic("load_ext", "trooper")
    with capture_output() as captured:
        answer = run(shell, "%%trooper\nhow many days in a week?")
    assert isinstance(answer, RichAnswer)
    data, metadata = answer._repr_mimebundle_()
    assert "<strong>Monday</strong>" in data["text/html"] and "text/markdown" not in data
    assert data["text/plain"].startswith("Seven days: **Monday** to Sunday.")
    meta = metadata["trooper"]
    assert meta["provider"] == "ollama" and meta["tier"] == "local" and meta["route"] == "local"
    assert meta["model"] and meta["decision"] and meta["session_id"] == workspace().session_id
    updates = [o.data["text/plain"] for o in captured.outputs]
    assert len([u for u in updates if u not in ("…", "")]) >= 2, f"the answer streamed into the output: {updates}"
    assert updates[-1] == "", "the streaming view steps aside for the result"
    assert kernel_env.ollama.last_request.messages[-1]["content"] == "how many days in a week?"


def test_escalate_and_local_switch_the_current_session(shell, kernel_env: ChatSetup):
    shell.run_line_magic("load_ext", "trooper")
    kernel_env.ollama.enqueue(reply_text("Local answer."))
    run(shell, "%%trooper\nexplain WAL mode")
    widget = run(shell, "%trooper chat")
    assert isinstance(widget, ChatWidget) and widget.session_id == workspace().session_id

    kernel_env.claude.enqueue(reply_text("Cloud answer."))
    with capture_output():
        answer = run(shell, "%trooper escalate")
    assert answer.metadata["provider"] == "claude" and answer.metadata["escalated"] is True
    assert widget.route == "cloud" and widget.messages[-1]["text"] == "Cloud answer."

    with capture_output() as captured:
        run(shell, "%trooper local")
    assert captured.stdout.strip() == "route: local" and widget.route == "local"
    assert "route local" in _status(shell)

    forced = run(shell, "%%trooper --route cloud\nand once more from the cloud")
    assert forced.metadata["provider"] == "claude"


def test_sessions_is_a_dataframe_including_this_session(shell, kernel_env: ChatSetup):
    shell.run_line_magic("load_ext", "trooper")
    run(shell, "%%trooper\nhello")
    kernel_env.server.flush()
    frame = run(shell, "%trooper sessions")
    assert isinstance(frame, pd.DataFrame)
    assert workspace().session_id in set(frame.session_id)


def test_usage_errors_are_clear(shell, kernel_env: ChatSetup):
    shell.run_line_magic("load_ext", "trooper")
    with capture_output() as captured:
        shell.run_cell("%trooper escalate")
    assert "nothing to escalate yet" in captured.stderr + captured.stdout
    with capture_output() as captured:
        shell.run_cell("%trooper --route cloud")
    assert "--route applies to %%trooper cells" in captured.stderr + captured.stdout


def _status(shell: InteractiveShell) -> str:
    with capture_output() as captured:
        run(shell, "%trooper status")
    return captured.stdout


def doc_blocks(document: str, language: str) -> list[str]:
    """The ``language`` code blocks of a document of the repository, as written."""
    text = (Path(__file__).parents[2] / document).read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def readme_blocks(language: str) -> list[str]:
    return doc_blocks("README.md", language)


def test_the_readme_jupyter_block_runs_as_pasted(shell, kernel_env: ChatSetup):
    block = next(b for b in readme_blocks("python") if "%load_ext trooper" in b)
    results = []
    with capture_output():
        for line in block.strip().splitlines():  # one cell per line, as a reader pastes it
            results.append(run(shell, line))  # "%trooper chat  # …" and "trooper.…" raised before
    assert isinstance(results[1], ChatWidget)
    assert isinstance(results[2], pd.DataFrame)


@pytest.mark.parametrize("block", doc_blocks("docs/notebook.md", "python"), ids=lambda block: block.splitlines()[0])
def test_the_notebook_guide_blocks_run_as_pasted(shell, kernel_env: ChatSetup, block: str, monkeypatch: pytest.MonkeyPatch):
    """Each Python block of docs/notebook.md, pasted into one cell of a real IPython shell (a key
    asked for with getpass is typed in)."""
    monkeypatch.setattr("getpass.getpass", lambda prompt="": CLAUDE_KEY)
    with capture_output():
        result = run(shell, block)
    if "chat()" in block:
        assert isinstance(result, ChatWidget)
    if "configure(" in block:
        assert result["escalation"] == ["claude"] and CLAUDE_KEY not in repr(result)
