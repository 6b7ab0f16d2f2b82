"""What cloud tokens cost: a small table of list prices per model, overridable by ``TROOPER_PRICES``.

Prices are US dollars per million tokens: input, output, and cached input (prompt tokens the
provider read from its cache, which Trooper records apart from ``tokens_in``). The sources and
the date they were read are in docs/costs.md; a price that has changed, or a model not listed, is
set with ``TROOPER_PRICES``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: When the list prices below were read from the providers' pricing pages (docs/costs.md).
LIST_PRICES_DATE = "2026-12-06"
#: A model name continues a listed one only after one of these (``claude-haiku-4-5-20251001``).
_VERSION_SEPARATORS = "-@:"


class PriceError(ValueError):
    """``TROOPER_PRICES`` cannot be used; the message says why."""


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cached_input: float

    def cost(self, tokens_in: int, tokens_cached: int, tokens_out: int) -> float:
        """The dollars an answer costs: ``tokens_in`` excludes the ``tokens_cached`` read from cache."""
        return (tokens_in * self.input + tokens_cached * self.cached_input + tokens_out * self.output) / 1_000_000


LIST_PRICES: dict[str, Price] = {
    # Anthropic, platform.claude.com/docs/en/docs/about-claude/pricing ("cache hits" as cached input)
    "claude-haiku-4-5": Price(1.00, 5.00, 0.10),
    "claude-sonnet-4-5": Price(3.00, 15.00, 0.30),
    "claude-opus-4-5": Price(5.00, 25.00, 0.50),
    "claude-3-5-haiku": Price(0.80, 4.00, 0.08),
    # Google, ai.google.dev/gemini-api/docs/pricing (paid tier, text)
    "gemini-3.5-flash": Price(1.50, 9.00, 0.15),
    "gemini-2.0-flash": Price(0.10, 0.40, 0.025),
    # OpenAI, platform.openai.com/docs/pricing (standard tier)
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
}


@dataclass(frozen=True)
class PriceTable:
    """Prices by model name. A model is priced by the longest listed name it is, or continues
    after a version separator: ``claude-haiku-4-5-20251001`` by ``claude-haiku-4-5``,
    ``gpt-4o-mini-2024-07-18`` by ``gpt-4o-mini`` (not ``gpt-4o``)."""

    #: Sorted pairs, so the table is hashable and two equal tables compare equal (Settings does).
    items: tuple[tuple[str, Price], ...]

    @classmethod
    def of(cls, prices: Mapping[str, Price]) -> PriceTable:
        return cls(tuple(sorted(prices.items())))

    def price_of(self, model: str) -> Price | None:
        best: tuple[str, Price] | None = None
        for name, price in self.items:
            continues = model == name or (model.startswith(name) and model[len(name)] in _VERSION_SEPARATORS)
            if continues and (best is None or len(name) > len(best[0])):
                best = (name, price)
        return best[1] if best else None


def load_prices(setting: str) -> PriceTable:
    """The list prices with ``TROOPER_PRICES`` over them: a JSON object, or the path of a file
    holding one, mapping a model name to ``{"input": …, "output": …, "cached_input": …}`` (US
    dollars per million tokens; ``cached_input`` defaults to ``input``)."""
    setting = setting.strip()
    if not setting:
        return PriceTable.of(LIST_PRICES)
    if setting.startswith(("{", "[")):
        text, where = setting, "TROOPER_PRICES"
    else:
        path = Path(setting).expanduser()
        try:
            text, where = path.read_text(encoding="utf-8"), f"TROOPER_PRICES file {path}"
        except OSError as exc:
            raise PriceError(f"TROOPER_PRICES names {path}, which cannot be read ({exc.strerror or exc})") from None
    try:
        given = json.loads(text)
    except ValueError as exc:
        raise PriceError(f"{where} is not valid JSON ({exc})") from None
    if not isinstance(given, dict):
        raise PriceError(f'{where} must be a JSON object: {{"model": {{"input": 1.0, "output": 5.0, "cached_input": 0.1}}}}')
    return PriceTable.of({**LIST_PRICES, **{str(model): _price(where, str(model), entry) for model, entry in given.items()}})


def _price(where: str, model: str, entry: Any) -> Price:
    if not isinstance(entry, dict) or not {"input", "output"} <= entry.keys():
        raise PriceError(f'{where}: {model!r} needs "input" and "output" (dollars per million tokens)')
    values = {name: entry[name] if name in entry else entry["input"] for name in ("input", "output", "cached_input")}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise PriceError(f"{where}: {model!r} {name} must be a number of dollars, 0 or more, got {value!r}")
    return Price(float(values["input"]), float(values["output"]), float(values["cached_input"]))
