"""Every notebook in notebooks/ runs top to bottom in a real kernel against a real Trooper.

The kernel finds the test server through ``TROOPER_URL`` in its environment, exactly as a user
points a notebook at a remote Trooper; the server runs on the fake Ollama and fake Claude.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.notebook.conftest import ChatSetup

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(name: str, setup: ChatSetup, tmp_path: Path) -> nbformat.NotebookNode:
    return run_in_kernel(nbformat.read(NOTEBOOKS / name, as_version=4), setup, tmp_path)


def run_in_kernel(book: nbformat.NotebookNode, setup: ChatSetup, tmp_path: Path) -> nbformat.NotebookNode:
    """Every cell of ``book`` in a real kernel pointed at the test server; a cell's error fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TROOPER_", "CLAUDE_", "OPENAI_", "GEMINI_"))}
    env.update(TROOPER_URL=setup.url, HOME=str(tmp_path))
    env.pop("MPLBACKEND", None)  # the kernel's inline backend renders the plots as PNG outputs
    client = NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    return book


def outputs(book: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in book.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == ["agents.ipynb", "quickstart.ipynb", "sessions.ipynb"]


@pytest.mark.slow
def test_quickstart(chat_setup: ChatSetup, tmp_path: Path):
    book = execute("quickstart.ipynb", chat_setup, tmp_path)
    produced = outputs(book)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in produced), "the widget shows"
    text = json.dumps(produced)
    assert "route: cloud" in text and "claude" in text, "escalation answered from the (fake) cloud"
    assert any(o.get("metadata", {}).get("trooper", {}).get("provider") == "ollama" for o in produced)
    assert len(chat_setup.claude.requests) == 1


@pytest.mark.slow
def test_sessions(chat_setup: ChatSetup, tmp_path: Path):
    book = execute("sessions.ipynb", chat_setup, tmp_path)
    assert any("image/png" in o.get("data", {}) for o in outputs(book)), "the plots render"


@pytest.mark.slow
def test_agents(chat_setup: ChatSetup, tmp_path: Path):
    book = execute("agents.ipynb", chat_setup, tmp_path)
    text = json.dumps(outputs(book))
    assert "x-trooper-provider" in text.lower() and "notebook-agent-demo" in text
    assert len(chat_setup.ollama.requests) >= 2


def doc_blocks(document: str) -> list[str]:
    text = (NOTEBOOKS.parent / document).read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.slow
def test_the_readme_and_notebook_guide_blocks_run_in_a_real_kernel(chat_setup: ChatSetup, tmp_path: Path):
    """The README's Jupyter block, one cell per line as a reader pastes it, then each Python block of
    docs/notebook.md as one cell. The block that asks for a key with getpass needs someone to type
    it, which a kernel run by nbclient cannot: test_magics.py runs it with the typing faked."""
    readme = next(block for block in doc_blocks("README.md") if "%load_ext trooper" in block)
    cells = [line for line in readme.strip().splitlines()] + [block for block in doc_blocks("docs/notebook.md") if "getpass(" not in block]
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    produced = outputs(run_in_kernel(book, chat_setup, tmp_path))
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in produced), "%trooper chat shows"
    assert any("text/html" in o.get("data", {}) and "session_id" in o["data"]["text/html"] for o in produced), "sessions()"
