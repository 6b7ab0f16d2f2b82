"""What an answer saved and what it cost, in tokens and in dollars: the one home of these rules.

They are applied once, when the answer is recorded, because only then is it known who answered,
whether a cloud was configured and which cloud model would otherwise have answered; the store
adds up what they gave each turn (docs/costs.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from trooper.conversation import Response
from trooper.prices import PriceTable


@dataclass(frozen=True)
class AnswerSavings:
    tokens_saved: int
    #: Dollars the answer cost: a cloud answer's tokens at its model's price; 0 for a local
    #: answer; None when the model has no price.
    cost_spent: float | None
    #: Dollars the cloud would have charged for an answer the local tier gave instead (the turns
    #: ``tokens_saved_by`` counts), at the price of the cloud model that would have answered;
    #: None when that model has no price.
    cost_avoided: float | None


def tokens_saved_by(response: Response, tier: str, *, cloud_configured: bool) -> int:
    """The cloud tokens an answer saved — the one rule behind every "tokens saved" figure (the
    store adds up what this gave each turn): all its tokens when the local tier answered while a
    cloud provider was configured, which would otherwise have answered (and billed) them; none
    when no cloud is configured, since a local-only Trooper saves nothing by answering locally."""
    if tier != "local" or not cloud_configured:
        return 0
    return response.usage.input_tokens + response.usage.output_tokens


def savings_of(response: Response, tier: str, *, would_answer: str | None, prices: PriceTable) -> AnswerSavings:
    """``response``'s savings when ``tier`` answered it and ``would_answer`` is the cloud model
    that answers in the local tier's stead (None: no cloud is configured)."""
    saved = tokens_saved_by(response, tier, cloud_configured=would_answer is not None)
    spent = _cost(prices, response.model, response) if tier == "cloud" else 0.0
    avoided = _cost(prices, would_answer, response) if saved and would_answer is not None else 0.0
    return AnswerSavings(saved, spent, avoided)


def _cost(prices: PriceTable, model: str, response: Response) -> float | None:
    price = prices.price_of(model)
    usage = response.usage
    if price is None:
        return None
    by_lifetime = usage.claude.get("cache_creation")  # Claude's split of the writes (5 minutes, an hour)
    hour = int(by_lifetime.get("ephemeral_1h_input_tokens") or 0) if isinstance(by_lifetime, dict) else 0
    return price.cost(usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens, usage.cache_creation_input_tokens, hour)
