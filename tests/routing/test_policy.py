"""The failure policy: every row of the table and the quota codes."""

from __future__ import annotations

import pytest

from trooper.config import Settings
from trooper.errors import UpstreamError
from trooper.providers.http import retry_after
from trooper.routing.policy import Failure, classify_failure

SETTINGS = Settings()  # retry_backoff 2 s, max_backoff 10 s, quota codes 402, 429, 529


def http(status: int, body: str = "", *, provider: str = "claude", headers: dict[str, str] | None = None, **kw: object) -> UpstreamError:
    """An error status as a provider reports it: ``retry_after`` read from the headers it kept."""
    kw.setdefault("retry_after", retry_after(headers or {}))
    return UpstreamError(provider, "http", f"HTTP {status}", status=status, body=body, headers=headers or {}, **kw)  # type: ignore[arg-type]


ANTHROPIC_CREDIT = '{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}'
GEMINI_BAD_KEY = '[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}]'
OPENAI_QUOTA = '{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","code":"insufficient_quota"}}'

TABLE: list[tuple[UpstreamError, Failure]] = [
    (http(429), Failure("rate_limit", "retry", 2.0)),
    (http(429, OPENAI_QUOTA, provider="openai"), Failure("credit_balance", "fallback")),
    (http(402), Failure("payment_required", "fallback")),
    (http(529), Failure("overloaded", "fallback")),
    (http(503), Failure("overloaded", "fallback")),
    (http(500, error_type="overloaded_error"), Failure("overloaded", "fallback")),
    (http(404, '{"error":{"type":"not_found_error","message":"model: claude-9"}}'), Failure("model_not_found", "fallback")),
    (http(404, "404 page not found"), Failure("not_found", "fallback")),
    (http(400, ANTHROPIC_CREDIT), Failure("credit_balance", "fallback")),
    (http(400, GEMINI_BAD_KEY, provider="gemini"), Failure("invalid_key", "fallback")),
    (http(401, '{"error":{"message":"invalid x-api-key"}}'), Failure("unauthorized", "surface")),
    (http(403), Failure("permission", "surface")),
    (http(400, '{"error":{"message":"prompt is too long: 210000 tokens > 200000 maximum"}}'), Failure("context_length", "larger_context")),
    (http(400, '{"error":{"code":"context_length_exceeded","message":"..."}}', provider="openai"), Failure("context_length", "larger_context")),
    (http(400, "This model's maximum context length is 8192 tokens."), Failure("context_length", "larger_context")),
    (http(400, "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."), Failure("context_length", "larger_context")),
    (http(400, '{"error":"the input length exceeds the context length"}', provider="ollama"), Failure("context_length", "larger_context")),
    (http(400, "request exceeds the context window"), Failure("context_length", "larger_context")),
    (http(400, '{"error":{"message":"messages.0.content: field required"}}'), Failure("bad_request", "surface")),
    (http(400, '{"error":{"code":"content_policy_violation"}}', provider="openai"), Failure("content_policy", "surface")),
    (http(400, "blocked for safety reasons"), Failure("content_policy", "surface")),
    (http(422), Failure("bad_request", "surface")),
    (http(408), Failure("timeout", "fallback")),
    (UpstreamError("claude", "connect", "name does not resolve"), Failure("connection", "fallback")),
    (UpstreamError("claude", "connect", "connection reset", error_type="connection_reset"), Failure("connection_reset", "retry")),
    (UpstreamError("claude", "connect", "connection refused", error_type="connection_refused"), Failure("connection_refused", "retry")),
    (UpstreamError("claude", "timeout", "no first token in 30 s"), Failure("timeout", "fallback", hang=True)),
    (http(500), Failure("server_error", "retry", 2.0)),
    (http(502), Failure("server_error", "retry", 2.0)),
    (http(504), Failure("server_error", "retry", 2.0)),
    (UpstreamError("claude", "stream", "connection closed mid-stream"), Failure("stream_cut", "fallback")),
    (UpstreamError("claude", "stream", "bad frame", error_type="stream_malformed"), Failure("stream_malformed", "fallback")),
    (UpstreamError("claude", "stream", "idle 30 s", error_type="stream_stall"), Failure("stream_stall", "fallback", hang=True)),
    (UpstreamError("claude", "stream", "Overloaded", error_type="overloaded_error"), Failure("overloaded", "fallback")),
    (UpstreamError("ollama", "unavailable", "model not pulled"), Failure("unavailable", "fallback")),
]


@pytest.mark.parametrize(("error", "expected"), TABLE, ids=[f"{e.kind}-{e.status}-{f.error_class}" for e, f in TABLE])
def test_failure_table(error: UpstreamError, expected: Failure) -> None:
    assert classify_failure(error, SETTINGS) == expected


@pytest.mark.parametrize("status", [429, 500, 502, 504])
def test_retry_once_then_fall_back(status: int) -> None:
    assert classify_failure(http(status), SETTINGS, attempt=1).action == "retry"
    assert classify_failure(http(status), SETTINGS, attempt=2).action == "fallback"


@pytest.mark.parametrize("error_class", ["connection_reset", "connection_refused"])
def test_a_dropped_connection_is_retried_at_once_then_falls_back(error_class: str) -> None:
    dropped = UpstreamError("claude", "connect", "dropped", error_type=error_class)
    assert classify_failure(dropped, SETTINGS, attempt=1) == Failure(error_class, "retry", 0.0)
    assert classify_failure(dropped, SETTINGS, attempt=2) == Failure(error_class, "fallback")


def test_429_honours_a_short_retry_after() -> None:
    assert classify_failure(http(429, headers={"retry-after": "3"}), SETTINGS) == Failure("rate_limit", "retry", 3.0)
    assert classify_failure(http(429, headers={"retry-after-ms": "250"}), SETTINGS) == Failure("rate_limit", "retry", 0.25)
    assert classify_failure(http(429, retry_after=1.5), SETTINGS) == Failure("rate_limit", "retry", 1.5)


def test_429_with_a_long_retry_after_moves_on_at_once() -> None:
    assert classify_failure(http(429, headers={"Retry-After": "60"}), SETTINGS) == Failure("rate_limit", "fallback")


def test_default_backoff_is_bounded_by_max_backoff() -> None:
    settings = SETTINGS.with_overrides(retry_backoff=20.0, max_backoff=5.0)
    assert classify_failure(http(500), settings) == Failure("server_error", "retry", 5.0)
    assert classify_failure(http(429), settings) == Failure("rate_limit", "fallback")


def test_configured_quota_codes_always_fall_back() -> None:
    settings = SETTINGS.with_overrides(quota_status_codes=(402, 429, 529, 403, 400, 401))
    assert classify_failure(http(403), settings) == Failure("permission", "fallback")
    assert classify_failure(http(400, "messages: field required"), settings) == Failure("bad_request", "fallback")
    assert classify_failure(http(401), settings) == Failure("unauthorized", "surface")


def test_default_quota_codes_removed_by_the_operator_are_surfaced() -> None:
    settings = SETTINGS.with_overrides(quota_status_codes=(402,))
    assert classify_failure(http(529), settings) == Failure("overloaded", "surface")
    assert classify_failure(http(429), settings, attempt=1) == Failure("rate_limit", "retry", 2.0)
    assert classify_failure(http(429), settings, attempt=2) == Failure("rate_limit", "surface")
    assert classify_failure(http(503), settings) == Failure("overloaded", "fallback")


@pytest.mark.parametrize(
    ("failure", "unhealthy"),
    [
        (Failure("overloaded", "fallback"), True),
        (Failure("server_error", "retry", 2.0), True),
        (Failure("unauthorized", "surface"), False),
        (Failure("bad_request", "surface"), False),
        (Failure("context_length", "larger_context"), False),
    ],
)
def test_only_provider_failures_are_unhealthy(failure: Failure, unhealthy: bool) -> None:
    assert failure.unhealthy is unhealthy


@pytest.mark.parametrize(
    ("error", "weight"),
    [
        (UpstreamError("claude", "timeout", "no first token within 30 s"), 2),
        (UpstreamError("claude", "timeout", "stream stalled: no data within 30 s"), 2),
        (UpstreamError("claude", "stream", "idle 30 s", error_type="stream_stall"), 2),
        (http(408), 1),  # the upstream answered, with its own timeout
        (http(529), 1),
        (UpstreamError("claude", "stream", "connection closed mid-stream"), 1),
        (http(401), 0),
        (http(400, "prompt is too long"), 0),
    ],
)
def test_a_hang_or_a_stall_counts_double_toward_the_breaker(error: UpstreamError, weight: int) -> None:
    assert classify_failure(error, SETTINGS).breaker_weight == weight

