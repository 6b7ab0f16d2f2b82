"""What cloud tokens cost: a small table of list prices per model, overridable by ``TROOPER_PRICES``.

Prices are US dollars per million tokens: input, output, cached input (prompt tokens the
provider read from its cache, which Trooper records apart from ``tokens_in``), and the prompt
written to the cache (only Claude bills writes: 1.25× input for its five-minute cache, 2× for the
hour, unless a price says otherwise). The sources and
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
    #: A prompt token written to the five-minute cache, and to the hour's; None: Claude's multiples of ``input``.
    cache_write: float | None = None
    cache_write_1h: float | None = None

    def cost(self, tokens_in: int, tokens_cached: int, tokens_out: int, tokens_written: int = 0, tokens_written_1h: int = 0) -> float:
        """The dollars an answer costs: ``tokens_in`` excludes the ``tokens_cached`` read from cache
        and the ``tokens_written`` to it, of which ``tokens_written_1h`` to the hour's cache."""
        write = self.input * _WRITE_5M if self.cache_write is None else self.cache_write
        write_1h = self.input * _WRITE_1H if self.cache_write_1h is None else self.cache_write_1h
        hour = min(tokens_written_1h, tokens_written)
        written = (tokens_written - hour) * write + hour * write_1h
        return (tokens_in * self.input + tokens_cached * self.cached_input + written + tokens_out * self.output) / 1_000_000


#: Claude's prices for writing a prompt to its cache, as multiples of the input price: five-minute
#: cache, hour's cache (platform.claude.com/docs/en/docs/about-claude/pricing, "cache writes").
_WRITE_5M, _WRITE_1H = 1.25, 2.0


LIST_PRICES: dict[str, Price] = {
    # Anthropic, platform.claude.com/docs/en/docs/about-claude/pricing ("cache hits" as cached input)
    "claude-haiku-4-5": Price(1.00, 5.00, 0.10),
    "claude-sonnet-4-5": Price(3.00, 15.00, 0.30),
    "claude-opus-4-5": Price(5.00, 25.00, 0.50),
    # Not on the corpus's copy of Anthropic's page: as third-party pages quote it (docs/costs.md)
    "claude-sonnet-4-6": Price(3.00, 15.00, 0.30),
    "claude-opus-4-6": Price(5.00, 25.00, 0.50),
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
    dollars per million tokens; ``cached_input`` defaults to ``input``), and optionally
    ``cache_write`` and ``cache_write_1h`` (Claude's multiples of ``input`` by default)."""
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
    values |= {name: entry[name] for name in ("cache_write", "cache_write_1h") if name in entry}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise PriceError(f"{where}: {model!r} {name} must be a number of dollars, 0 or more, got {value!r}")
    return Price(**{name: float(value) for name, value in values.items()})
