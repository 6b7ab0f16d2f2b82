"""Shared helpers of the proxy benchmarks: processes, request bodies, timing and tables.

Trooper and the fake upstreams run as separate processes (``python -m trooper serve``,
``python -m tests.fakes``) so the measuring client, the proxy and the upstream never share a GIL
and the proxy is the same program a user runs. Times come from ``time.perf_counter`` in the
client; arrival times recorded by fakes come from ``time.monotonic``, which on Linux is one
system-wide clock, so they can be compared across processes.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import DEFAULT_TEXT  # noqa: E402
from tests.fakes.remote import RemoteFake  # noqa: E402

#: Nothing listens here: Trooper finds no Ollama and no local tier unless a benchmark gives one.
DEAD_URL = "http://127.0.0.1:9/api/chat"
_BANNER = re.compile(r"Trooper listening on (http://\S+)")
_START_TIMEOUT = 30.0


# ---------------------------------------------------------------- processes


@dataclass
class Process:
    """A child process serving HTTP at ``url``; stopped with SIGTERM (a graceful shutdown)."""

    popen: subprocess.Popen[str]
    url: str
    log_path: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_mb(self) -> float:
        """Resident memory now, from /proc (Linux)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return kb / 1024

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time (user + system) so far: (the main thread, every other thread).

        Trooper's main thread runs the event loop; the others are the store's writer and readers.
        """
        main = other = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:  # the thread ended while we looked
                continue
            ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
            if task.name == str(self.pid):
                main += ticks
            else:
                other += ticks
        tick = os.sysconf("SC_CLK_TCK")
        return main / tick, other / tick

    def cpu_ns(self) -> tuple[int, int]:
        """CPU time so far in nanoseconds, as the scheduler counts it (``schedstat``: no 10 ms
        ticks, so fine enough to tell one request's share): (the main thread, every other thread)."""
        main = other = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                ran = int((task / "schedstat").read_text().split()[0])
            except FileNotFoundError:  # the thread ended while we looked
                continue
            if task.name == str(self.pid):
                main += ran
            else:
                other += ran
        return main, other

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class FakeProcess(Process):
    remote: RemoteFake = field(init=False)

    def __post_init__(self) -> None:
        self.remote = RemoteFake(self.url)

    def enqueue(self, specs: list[dict[str, Any]]) -> None:
        """Queue many behaviour specs in one control request (RemoteFake sends one per call)."""
        httpx.post(self.url + "/_fake/enqueue", json=specs, timeout=10.0, trust_env=False).raise_for_status()

    def stop(self) -> None:
        self.remote.close()
        super().stop()


def start_fake(provider: str, default: dict[str, Any] | None = None) -> FakeProcess:
    """``python -m tests.fakes <provider>`` on a free port; its default behaviour as a spec."""
    command = [sys.executable, "-m", "tests.fakes", provider, "--port", "0"]
    if default is not None:
        command += ["--default", json.dumps(default)]
    popen = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert popen.stdout is not None
    url = popen.stdout.readline().strip()
    if not url.startswith("http://"):
        popen.kill()
        raise RuntimeError(f"fake {provider} did not start")
    return FakeProcess(popen, url)


def trooper_env(db: str, **overrides: str) -> dict[str, str]:
    """Environment of a benchmark Trooper: no embedded model, no Ollama, quiet timeouts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TROOPER_", "CLAUDE_", "OPENAI_", "GEMINI_"))}
    env.update(
        TROOPER_PORT="0",
        TROOPER_DB=db,
        TROOPER_EMBEDDED="false",
        FALLBACK_URL=DEAD_URL,
    )
    env.update(overrides)
    return env


def gc_probe(gc_log: Path | None) -> list[str] | None:
    """What serves a Trooper that writes every garbage collection to ``gc_log`` on exit
    (bench/gc_probe.py; ``start_trooper``'s ``serve``); None without a log: ``trooper serve``."""
    return None if gc_log is None else [str(ROOT / "bench" / "gc_probe.py"), str(gc_log)]


def start_trooper(env: dict[str, str], source: Path = ROOT, serve: list[str] | None = None) -> Process:
    """``python -m trooper serve`` from the checkout at ``source``; its log goes to a temp file.
    With ``serve``, that script and its arguments serve instead (a probe serving as ``trooper serve``
    does: ``gc_probe``, bench/door_cpu_probe.py)."""
    log = Path(tempfile.mkstemp(prefix="trooper-bench-", suffix=".log")[1])
    command = serve or ["-m", "trooper", "serve"]
    with log.open("w") as log_file:
        popen = subprocess.Popen(
            [sys.executable, *command], cwd=source, env={**env, "PYTHONPATH": str(source)},
            stdout=subprocess.PIPE, stderr=log_file, text=True,
        )
    assert popen.stdout is not None
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        line = popen.stdout.readline()
        if not line:
            break
        match = _BANNER.search(line)
        if match:
            return Process(popen, match.group(1), log)
    popen.kill()
    raise RuntimeError(f"Trooper did not start; see {log}:\n{log.read_text()[-2000:]}")


def start_reference(kind: str, upstream: str) -> Process:
    """``bench/minimal_proxy.py``'s proxy that only forwards (``aiohttp`` or ``tornado`` server) to
    ``upstream``: the floor of a Python proxy hop, served at ``/v1/messages``."""
    popen = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "minimal_proxy.py"), kind, upstream], stdout=subprocess.PIPE, text=True
    )
    assert popen.stdout is not None
    match = re.search(r"listening on (http://\S+)", popen.stdout.readline())
    if match is None:
        popen.kill()
        raise RuntimeError(f"the {kind} reference proxy did not start")
    return Process(popen, match.group(1))


def temp_db() -> str:
    return str(Path(tempfile.mkdtemp(prefix="trooper-bench-")) / "trooper.db")


def http_client() -> httpx.Client:
    """A plain keep-alive client: SDK overhead is not Trooper's."""
    return httpx.Client(timeout=30.0, trust_env=False)


# ---------------------------------------------------------------- requests


ANTHROPIC_HEADERS = {"x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}


@dataclass
class Conversation:
    """An agent-like conversation: each turn resends the whole history plus one new user message."""

    name: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def next_body(self, stream: bool = False, model: str = "claude-haiku-4-5") -> dict[str, Any]:
        turn = len(self.messages) // 2
        text = f"{self.name} turn {turn}: explain why the build cache misses after the dependency bump"
        self.messages.append({"role": "user", "content": text})
        return {"model": model, "max_tokens": 256, "messages": list(self.messages), "stream": stream}

    def answer(self, text: str = DEFAULT_TEXT) -> None:
        """Append the answer as the client resends it: by default the fake upstream's own answer
        (another text would be an edit of the history, which Trooper records as a new branch)."""
        self.messages.append({"role": "assistant", "content": text})


def conversations(prefix: str, turns_each: int) -> Iterator[Conversation]:
    """Endless fresh conversations; each yields itself ``turns_each`` times (one per turn)."""
    number = 0
    while True:
        conversation = Conversation(f"{prefix}-{number}")
        for _ in range(turns_each):
            yield conversation
            conversation.answer()
        number += 1


def per_round(turns: Iterator[Conversation], stream: bool = False) -> Callable[[int], dict[str, Any]]:
    """The body for round i of ``interleave``: the next turn, the same for every side of a round."""
    current: dict[int, dict[str, Any]] = {}

    def body(i: int) -> dict[str, Any]:
        if i not in current:
            current.clear()
            current[i] = next(turns).next_body(stream=stream)
        return current[i]

    return body


def timed_post(client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> float:
    """Seconds for one non-streaming POST, body read; raises on an error status."""
    started = time.perf_counter()
    response = client.post(url, json=body, headers=headers or ANTHROPIC_HEADERS)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def timed_stream(client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[float, float]:
    """(time to the first body byte, time to the end) of one streaming POST, in seconds."""
    started = time.perf_counter()
    first: float | None = None
    with client.stream("POST", url, json=body, headers=headers or ANTHROPIC_HEADERS) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if first is None and chunk:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return (total if first is None else first), total


def interleave(count: int, sides: Sequence[Callable[[int], float]]) -> list[list[float]]:
    """``count`` rounds of one call per side (given the round number), rotating which side goes
    first, so machine noise hits every side alike. Returns the samples of each side."""
    samples: list[list[float]] = [[] for _ in sides]
    for i in range(count):
        for offset in range(len(sides)):
            side = (i + offset) % len(sides)
            samples[side].append(sides[side](i))
    return samples


# ---------------------------------------------------------------- statistics and tables


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_row(label: str, samples: Sequence[float]) -> list[str]:
    """``label, n, p50, p90, p99, max`` in milliseconds."""
    return [label, str(len(samples)), *(ms(percentile(samples, q)) for q in (50, 90, 99)), ms(max(samples))]


LATENCY_HEADERS = ("case", "n", "p50 ms", "p90 ms", "p99 ms", "max ms")


def load_conditions() -> str:
    """One line saying where and under what load the figures were taken."""
    one, five, _ = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load average {one:.2f} (1 min) / {five:.2f} (5 min)"
    )


# ---------------------------------------------------------------- the garbage collector (bench/gc_probe.py)


#: How long a probed Trooper is given to run a full collection on SIGUSR1.
FULL_COLLECTION_WAIT = 2.0


def full_collection(processes: Iterable[Process]) -> float:
    """Ask each Trooper served by bench/gc_probe.py to run a full collection now and time it (it
    walks what serving kept); waits for them. Returns when that was (``time.monotonic``)."""
    asked = time.monotonic()
    for process in processes:
        process.popen.send_signal(signal.SIGUSR1)
    time.sleep(FULL_COLLECTION_WAIT)
    return asked


def collections_between(log: Path, start: float, end: float) -> list[dict[str, Any]]:
    """The collections ``log`` recorded that began within [start, end] (``time.monotonic``), the
    forced ones (SIGUSR1) included: they carry ``forced``."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line]
    return [row for row in rows if start <= row["start"] <= end]


def print_collections(name: str, collections: list[dict[str, Any]], requests: int) -> None:
    """What the garbage collector did in ``name`` while it answered ``requests`` proxied requests:
    collections per 1,000 requests, their pauses (wall clock) and CPU time, the collector's CPU per
    request, and the forced full collection (``full_collection``) if one is among ``collections``."""
    rows = []
    for generation in (0, 1, 2):
        done = [c for c in collections if c.get("generation") == generation]
        pauses, cpu = [c["pause"] for c in done], [c["cpu"] for c in done]
        rows.append([
            f"{name}: generation {generation}", f"{len(done) * 1000 / requests:.1f}",
            *((ms(percentile(pauses, 50)), ms(max(pauses)), ms(percentile(cpu, 50))) if done else ("—", "—", "—")),
            f"{sum(cpu) / requests * 1e6:.1f}",
        ])
    headers = ("garbage collector", "collections per 1,000 requests", "pause p50 ms", "pause max ms", "CPU p50 ms", "CPU µs per request")
    print(markdown_table(headers, rows))
    for forced in (c for c in collections if c.get("forced")):
        print(f"{name}: a full collection after the rounds walked {forced['tracked']:,} objects "
              f"({forced['frozen']:,} frozen, not walked): {ms(forced['pause'])} ms, {ms(forced['cpu'])} ms of CPU")
