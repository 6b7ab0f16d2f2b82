"""The quickstart's ChatWidget in a real JupyterLab, driven by headless Chromium.

A ``jupyter lab`` subprocess (token auth, a temporary root, config, data, runtime and settings
directories) serves a copy of ``notebooks/quickstart.ipynb``; its kernels find a real Trooper on
the fake Ollama and fake Claude through ``TROOPER_URL``, as a user points a notebook at a
Trooper. The browser runs the quickstart's cells up to the widget with Shift+Enter (answering
the ``getpass`` prompt with Enter, as a user without a key does), types into the widget's
Textarea, clicks **Send**, watches the answer stream in, clicks **↑ Escalate** and sees Claude's
answer with its cloud label. The last view is saved as ``docs/img/jupyterlab-widget.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.fakes.behaviours import reply_text
from tests.net import free_port
from tests.notebook.conftest import ChatSetup

pytestmark = [pytest.mark.jupyter, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "notebooks" / "quickstart.ipynb"
SCREENSHOT = REPO / "docs" / "img" / "jupyterlab-widget.png"
TOKEN = "jupyterlab-browser-test-token"
#: JupyterLab's first page load and a kernel start are slow on a loaded two-core machine.
LAB_START_TIMEOUT = 60.0
KERNEL_TIMEOUT_MS = 120_000
ANSWER_TIMEOUT_MS = 30_000
#: A prompt with an execution count (``[3]:``), not ``[ ]:`` (never run) nor ``[*]:`` (running).
_EXECUTED = re.compile(r"^\[\d+\]:$")

LOCAL_ANSWER = "A week has **seven** days, from Monday to Sunday in most calendars."
CLOUD_ANSWER = "Claude here: a week has **7 days**; ISO 8601 starts it on Monday."


class JupyterLab:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def lab(chat_setup: ChatSetup, tmp_path: Path) -> Iterator[JupyterLab]:
    """``jupyter lab`` on a free port, isolated from the user's Jupyter and Trooper directories."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(QUICKSTART, root / "quickstart.ipynb")
    dirs = {name: tmp_path / name for name in ("config", "data", "runtime", "home", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir()
    # No "get notified about Jupyter news?" toast over the notebook (and no news fetched).
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (dirs["config"] / "jupyter_lab_config.py").write_text(
        "c.LabApp.news_url = None\n"
        "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n"
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TROOPER_", "CLAUDE_", "OPENAI_", "GEMINI_", "JUPYTER"))}
    env.update(
        TROOPER_URL=chat_setup.url,
        HOME=str(dirs["home"]),  # ~/.jupyter, ~/.ipython and ~/.trooper of the tester stay untouched
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env.pop("MPLBACKEND", None)
    port = free_port()
    log = tmp_path / "jupyterlab.log"
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", f"--port={port}", "--ip=127.0.0.1", "--no-browser",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--allow-root"],
            env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
        )
    lab = JupyterLab(process, port, log)
    try:
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{lab.url}/api/status", headers={"Authorization": f"token {TOKEN}"}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"jupyter lab did not start:\n{lab.log_tail()}")
            time.sleep(0.25)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def wait_for_kernel_idle(page: Page) -> None:
    expect(page.locator(".jp-NotebookPanel-toolbar .jp-Toolbar-kernelName")).to_have_text(
        "Python 3 (ipykernel)", timeout=KERNEL_TIMEOUT_MS
    )
    expect(page.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle", timeout=KERNEL_TIMEOUT_MS
    )


def code_cell(page: Page, source_start: str) -> Locator:
    return page.locator(".jp-CodeCell").filter(has=page.locator(".jp-InputArea-editor", has_text=source_start))


def run_cell(page: Page, cell: Locator) -> None:
    """Select the cell in command mode and press Shift+Enter, as a user runs it."""
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")


def wait_for_execution(cell: Locator) -> None:
    """The cell ran to the end: its prompt shows an execution count."""
    expect(cell.locator(".jp-InputArea-prompt")).to_have_text(_EXECUTED, timeout=KERNEL_TIMEOUT_MS)



def test_quickstart_widget_streams_and_escalates_in_jupyterlab(lab: JupyterLab, chat_setup: ChatSetup, page: Page):
    remote: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: remote.append(request.url)
            if urlsplit(request.url).hostname not in ("127.0.0.1", None) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{lab.url}/lab/tree/quickstart.ipynb?token={TOKEN}", timeout=KERNEL_TIMEOUT_MS)
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    wait_for_kernel_idle(page)
    page.keyboard.press("Control+b")  # fold the file browser away: more room for the notebook

    # The key cell asks with getpass; Enter with nothing typed stays local-only.
    key_cell = code_cell(page, "import os")
    run_cell(page, key_cell)
    stdin = key_cell.locator("input.jp-Stdin-input")
    expect(stdin).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    stdin.press("Enter")
    wait_for_execution(key_cell)

    for source in ("%load_ext trooper", "%trooper status", "from trooper.notebook import chat"):
        cell = code_cell(page, source)
        run_cell(page, cell)
        wait_for_execution(cell)
    status = code_cell(page, "%trooper status").locator(".jp-OutputArea-output")
    expect(status).to_contain_text(chat_setup.url)

    widget = code_cell(page, "from trooper.notebook import chat").locator(".jp-OutputArea-output .widget-vbox").first
    expect(widget).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    textarea = widget.locator(".widget-textarea textarea")
    send = widget.get_by_role("button", name="Send")
    escalate = widget.get_by_role("button", name="↑ Escalate")
    expect(widget).to_contain_text("route: local")

    # Send: the fake Ollama streams word by word; the partial answer shows before the final one.
    chat_setup.ollama.enqueue(reply_text(LOCAL_ANSWER, chunk_delay=0.25))
    textarea.click()
    textarea.press_sequentially("How many days are in a week?")
    expect(textarea).to_have_value("How many days are in a week?")
    send.click()
    # One atomic look in the page: a partial answer (escaped plain text) while the stream runs.
    page.wait_for_function(
        """() => {
            const live = document.querySelector('.jp-OutputArea-output .widget-vbox .widget-html pre');
            return live !== null && live.textContent.includes('A week has')
                && !live.textContent.includes('calendars.') && live.children.length === 0;
        }""",
        timeout=ANSWER_TIMEOUT_MS,
    )
    expect(send).to_be_disabled()
    partial = widget.locator(".widget-html pre")
    local_label = widget.get_by_text("· local", exact=False)
    expect(local_label).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(widget.locator("strong", has_text="seven")).to_be_visible()
    expect(partial).to_have_count(0)
    expect(send).to_be_enabled()
    expect(textarea).to_have_value("")
    turns = [r for r in chat_setup.ollama.requests if r.path == "/api/chat"]  # not the /api/tags, /api/show probes
    assert len(turns) == 1 and turns[0].messages[-1]["content"] == "How many days are in a week?"
    assert chat_setup.claude.requests == []

    # ↑ Escalate: the divider, then Claude's answer with its cloud label, and the route turns to cloud.
    chat_setup.claude.enqueue(reply_text(CLOUD_ANSWER, chunk_delay=0.05))
    escalate.click()
    expect(widget.get_by_text("↑ Escalated to the cloud")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(widget.get_by_text("· cloud", exact=False)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(widget.locator("strong", has_text="7 days")).to_be_visible()
    expect(widget).to_contain_text("route: cloud")
    expect(widget.get_by_role("button", name="↩ Back to local")).to_be_enabled()
    escalations = [r for r in chat_setup.claude.requests if r.path == "/v1/messages"]
    assert len(escalations) == 1 and "How many days are in a week?" in json.dumps(escalations[0].json)

    # The kernel stayed free while the answers streamed in its background thread.
    wait_for_kernel_idle(page)
    widget.evaluate("element => element.scrollIntoView({block: 'end'})")
    page.mouse.move(0, 0)  # no hover highlight in the picture
    page.screenshot(path=str(SCREENSHOT))
    assert remote == [], f"JupyterLab or the widget reached off this machine: {remote}"
    assert errors == [], f"script errors in the page: {errors}"
