"""The price table: list prices by model (a dated model name finds its family), TROOPER_PRICES over
them, as JSON or a file, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trooper.config import ConfigError, Settings
from trooper.prices import LIST_PRICES, Price, PriceError, PriceTable, load_prices


def test_a_model_is_priced_by_the_longest_name_it_continues() -> None:
    table = PriceTable.of(LIST_PRICES)
    assert table.price_of("claude-haiku-4-5-20251001") == Price(1.00, 5.00, 0.10)
    assert table.price_of("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60, 0.075), "not gpt-4o's price"
    assert table.price_of("gpt-4o") == Price(2.50, 10.00, 1.25)
    assert table.price_of("gpt-4o-2024-08-06") == Price(2.50, 10.00, 1.25)
    assert table.price_of("gpt-4omni") is None, "a name continues only after a separator"
    assert table.price_of("llama3.1:8b") is None and table.price_of("") is None


def test_the_defaults_price_the_default_models() -> None:
    settings = Settings()
    for model in (settings.claude_model, settings.gemini_model, settings.openai_model):
        assert settings.prices.price_of(model) is not None, model


def test_cost_counts_cached_input_apart() -> None:
    haiku = Price(1.00, 5.00, 0.10)
    assert haiku.cost(tokens_in=1000, tokens_cached=0, tokens_out=0) == pytest.approx(0.001)
    assert haiku.cost(tokens_in=200, tokens_cached=10_000, tokens_out=100) == pytest.approx((200 + 1000 + 500) / 1_000_000)


def test_cache_writes_cost_claudes_multiples_of_input_unless_priced() -> None:
    haiku = Price(1.00, 5.00, 0.10)
    assert haiku.cost(0, 0, 0, tokens_written=1_000_000) == pytest.approx(1.25)
    assert haiku.cost(0, 0, 0, tokens_written=1_000_000, tokens_written_1h=400_000) == pytest.approx(0.6 * 1.25 + 0.4 * 2.0)
    given = load_prices(json.dumps({"my-model": {"input": 1, "output": 2, "cache_write": 1.5, "cache_write_1h": 3}}))
    assert given.price_of("my-model") == Price(1.0, 2.0, 1.0, 1.5, 3.0)
    with pytest.raises(PriceError, match="cache_write must be a number"):
        load_prices(json.dumps({"my-model": {"input": 1, "output": 2, "cache_write": "cheap"}}))


def test_trooper_prices_as_json_or_a_file_over_the_list(tmp_path: Path) -> None:
    given = {"claude-haiku-4-5": {"input": 0.5, "output": 2.5, "cached_input": 0.05}, "my-gateway-model": {"input": 1, "output": 2}}
    from_json = load_prices(json.dumps(given))
    assert from_json.price_of("claude-haiku-4-5-20251001") == Price(0.5, 2.5, 0.05)
    assert from_json.price_of("my-gateway-model") == Price(1.0, 2.0, 1.0), "cached input defaults to input"
    assert from_json.price_of("gpt-4o-mini") == LIST_PRICES["gpt-4o-mini"], "the rest of the list stays"
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(given))
    assert load_prices(str(path)) == from_json
    assert Settings.from_env({"TROOPER_PRICES": str(path)}).prices == from_json
    assert load_prices("") == load_prices("  ") == PriceTable.of(LIST_PRICES)


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"m": {"input": 1}}', '"input" and "output"'),
        ('{"m": 3}', '"input" and "output"'),
        ('{"m": {"input": -1, "output": 2}}', "0 or more"),
        ('{"m": {"input": "1", "output": 2}}', "must be a number"),
        ('{"m": {"input": true, "output": 2}}', "must be a number"),
        ("/no/such/prices.json", "cannot be read"),
    ],
)
def test_a_bad_setting_says_what_is_wrong(setting: str, says: str) -> None:
    with pytest.raises(PriceError, match=says):
        load_prices(setting)
    with pytest.raises(ConfigError, match=says):
        Settings.from_env({"TROOPER_PRICES": setting})
