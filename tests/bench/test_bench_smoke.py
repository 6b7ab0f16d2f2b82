"""Each proxy benchmark runs end to end in a tiny mode and prints its tables (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE_HEADER = "| case | n | p50 ms | p90 ms | p99 ms | max ms |"

TINY_RUNS = {
    "overhead.py": (
        ["--requests", "6", "--doors", "messages,chat,responses", "--gc", "--tools", "2"],
        ["Trooper /v1/responses: added p50", "| Trooper /v1/responses |", "Trooper RSS", "| Trooper: generation 2 |",
         "Trooper: a full collection after the rounds walked"],
    ),
    "failover.py": (["--decisions", "4", "--rounds", "1", "--block", "8", "--clients", "2"], ["primary arrival → fallback arrival", "failover overhead"]),
    "proxy_floor.py": (
        ["--requests", "6", "--baseline", str(ROOT)],
        ["minimal proxy (aiohttp server)", "minimal proxy (tornado server)", "| Trooper |", "| baseline |",
         "| own work, less the Tornado forwarder's |"],
    ),
    "store_latency.py": (["--requests", "8"], ["file − memory", "store threads"]),
    "sse_fanout.py": (["--rounds", "1", "--block", "4", "--listeners", "2"], ["2 listeners", "received every update"]),
}
THROUGHPUT_HEADER = "| clients | side | req/s | × direct | p50 ms | p99 ms | p99 × direct | proxy CPU ms / turn |"


@pytest.mark.parametrize("script", sorted(TINY_RUNS))
def test_benchmark_prints_its_tables(script: str) -> None:
    args, expected = TINY_RUNS[script]
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert TABLE_HEADER in result.stdout
    for text in expected:
        assert text in result.stdout, result.stdout


def test_throughput_measures_the_forwarding_floor_alongside() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "throughput.py"), "--quick", "--floor"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert THROUGHPUT_HEADER in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 16 |")]
    assert [row.split("|")[2].strip() for row in rows] == ["direct", "Trooper", "minimal proxy (Tornado)"], result.stdout
    assert all(float(row.split("|")[3]) > 0 for row in rows), result.stdout  # each side answered


def test_long_history_prints_cpu_per_request() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "long_history.py"), "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| side | requests | CPU ms / request, median | mean |" in result.stdout
    assert "| Trooper | 8 |" in result.stdout, result.stdout


def test_door_cpu_compares_the_doors_of_each_trooper() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "door_cpu.py"), "--rounds", "4", "--baseline", str(ROOT), "--tools", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| Trooper | Chat Completions p50 | Responses p50 | Responses − Chat, median of rounds | mean of rounds |" in result.stdout
    rows = [line.split("|")[1].strip() for line in result.stdout.splitlines() if line.startswith("| ") and "p50" not in line]
    assert rows == ["Trooper", "baseline"], result.stdout
