"""The README's SDK blocks run as pasted against a real Trooper. The one change: the port, since
the test's Trooper cannot count on 3000 being free (the blocks name http://localhost:3000)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fakes.behaviours import reply_text

README = Path(__file__).parents[1] / "README.md"
SDK_BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if "base_url=" in b]


def test_the_readme_has_sdk_blocks() -> None:
    assert {"anthropic", "openai"} <= {b.split()[1] for b in SDK_BLOCKS}


@pytest.mark.parametrize("block", SDK_BLOCKS, ids=lambda block: block.split()[1])
def test_an_sdk_block_runs_as_pasted(block: str, fake_ollama, make_trooper) -> None:
    fake_ollama.default = reply_text("seven")
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    assert "http://localhost:3000" in block
    port = server.url.rsplit(":", 1)[1]
    namespace: dict[str, object] = {}
    exec(compile(block.replace("localhost:3000", f"localhost:{port}"), "README.md", "exec"), namespace)  # noqa: S102
    assert [r for r in fake_ollama.requests if r.path == "/api/chat"], "the local model answered it"
