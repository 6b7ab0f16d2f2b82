"""What an answer saved and cost: tokens saved only when a configured cloud would have answered
(``tokens_saved_by``), and the same turns priced at that cloud model; cloud answers priced at
their own model; unpriced models stay unpriced (None), never $0."""

from __future__ import annotations

from dataclasses import replace

import pytest

from trooper.conversation import Response, TextBlock, Usage
from trooper.engine.savings import AnswerSavings, savings_of
from trooper.prices import LIST_PRICES, PriceTable

PRICES = PriceTable.of(LIST_PRICES)


def answer(model: str, tokens_in: int, tokens_out: int, cached: int = 0) -> Response:
    return Response(id="msg-1", model=model, content=[TextBlock("ok")],
                    usage=Usage(input_tokens=tokens_in, output_tokens=tokens_out, cache_read_input_tokens=cached))


def test_a_local_answer_avoids_what_the_cloud_would_have_charged() -> None:
    local = answer("llama3.1:8b", 1000, 200)
    savings = savings_of(local, "local", would_answer="claude-haiku-4-5-20251001", prices=PRICES)
    assert savings == AnswerSavings(1200, 0.0, pytest.approx((1000 * 1.00 + 200 * 5.00) / 1_000_000))


def test_without_a_cloud_nothing_is_saved_or_avoided() -> None:
    assert savings_of(answer("llama3.1:8b", 1000, 200), "local", would_answer=None, prices=PRICES) == AnswerSavings(0, 0.0, 0.0)


def test_a_cloud_answer_is_spent_at_its_own_model_cached_input_apart() -> None:
    cloud = answer("gpt-4o-mini-2024-07-18", 400, 100, cached=2000)
    savings = savings_of(cloud, "cloud", would_answer="claude-haiku-4-5", prices=PRICES)
    assert savings == AnswerSavings(0, pytest.approx((400 * 0.15 + 2000 * 0.075 + 100 * 0.60) / 1_000_000), 0.0)


def test_claudes_cache_writes_are_spent_at_their_lifetimes_price() -> None:
    # Claude Code writes its prompt to the cache each turn, part to the hour's cache: 1.25× and 2× input.
    usage = Usage(input_tokens=100, output_tokens=50, cache_creation_input_tokens=3000, cache_read_input_tokens=20_000,
                  claude={"cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}})
    cloud = Response(id="msg-1", model="claude-haiku-4-5", content=[TextBlock("ok")], usage=usage)
    spent = (100 * 1.00 + 20_000 * 0.10 + 1000 * 1.25 + 2000 * 2.00 + 50 * 5.00) / 1_000_000
    assert savings_of(cloud, "cloud", would_answer="claude-haiku-4-5", prices=PRICES).cost_spent == pytest.approx(spent)
    without_split = Response(id="msg-1", model="claude-haiku-4-5", content=[TextBlock("ok")], usage=replace(usage, claude={}))
    spent_5m = (100 * 1.00 + 20_000 * 0.10 + 3000 * 1.25 + 50 * 5.00) / 1_000_000  # no split: the five-minute cache's
    assert savings_of(without_split, "cloud", would_answer="claude-haiku-4-5", prices=PRICES).cost_spent == pytest.approx(spent_5m)


def test_unpriced_models_are_unknown_not_free() -> None:
    assert savings_of(answer("my-gateway-model", 10, 10), "cloud", would_answer="claude-haiku-4-5", prices=PRICES).cost_spent is None
    local = savings_of(answer("llama3.1:8b", 10, 10), "local", would_answer="my-gateway-model", prices=PRICES)
    assert local.tokens_saved == 20 and local.cost_avoided is None
