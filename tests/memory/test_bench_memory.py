"""The session memory benchmark runs end to end in its quick mode (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_memory_benchmark_prints_its_tables():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "memory.py"), "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| turns | full ms | us / turn | distinct texts ms |" in result.stdout
    assert "compact with kept SITREP ms" in result.stdout
