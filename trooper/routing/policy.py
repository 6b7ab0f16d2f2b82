"""What to do after a failed upstream attempt: retry, fall back, try a larger window, or surface.

``classify_failure`` names the failure (``error_class``, stored and shown in headers) and picks an
action; the router carries it out. The table is in docs/routing.md. Two rules shape it:

- bad keys and bad requests are not masked: 401, 403 and malformed or refused requests reach
  the caller unchanged, because another provider would hide a problem the caller must fix
  (an operator may list 403 or 400 as quota codes; 401 is surfaced even then);
- quota codes (``Settings.quota_status_codes``, default 402, 429, 529) always move on to the
  next provider. A 429 first gets one retry on the same provider when its Retry-After is no
  longer than ``max_backoff``; a default quota code the operator removed from the list
  (e.g. ``QUOTA_STATUS_CODES=402,529``) is surfaced instead, after that same one retry for 429.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trooper.config import DEFAULT_QUOTA_STATUS_CODES, Settings
from trooper.errors import UpstreamError

Action = Literal["retry", "fallback", "surface", "larger_context"]

#: Stream failures: providers raising ``UpstreamError(kind="stream")`` set ``error_type`` to one.
STREAM_ERROR_CLASSES = ("stream_cut", "stream_malformed", "stream_stall")

#: Connections refused or dropped before any response byte: providers raising
#: ``UpstreamError(kind="connect")`` set ``error_type`` to one. Retried once (on a fresh connection).
DROPPED_CONNECTION_CLASSES = ("connection_refused", "connection_reset")

#: Retries on the same provider before moving on (the attempt that failed is counted from 1).
MAX_ATTEMPTS_PER_PROVIDER = 2

#: The error class of an attempt that lost a hedged race: it had not started answering when a
#: provider started after it did. Recorded as cancelled; counted toward the breaker as a hang.
SLOW_FIRST_TOKEN = "slow_first_token"

#: What a hang or a stall counts for on the provider's breaker. Each one cost its caller a whole
#: time budget (or a hedge), so two of them open a breaker of the default threshold (3).
HANG_WEIGHT = 2


@dataclass(frozen=True)
class Failure:
    error_class: str
    action: Action
    #: Seconds to wait before the retry (0 for every other action).
    delay: float = 0.0
    #: No answer within a time budget: the upstream hung before its first token or stalled after it.
    hang: bool = False

    @property
    def unhealthy(self) -> bool:
        """Whether the failure says the provider is unwell, so it counts toward its breaker.

        Surfaced failures (bad key, bad request) and context overflows are the request's fault.
        """
        return self.action in ("retry", "fallback")

    @property
    def breaker_weight(self) -> int:
        """How many failures this one counts for on the provider's breaker."""
        if not self.unhealthy:
            return 0
        return HANG_WEIGHT if self.hang else 1


# Lowercased fragments of upstream error bodies, per provider wording.
_CONTEXT_LENGTH = (
    "prompt is too long",  # Anthropic
    "context_length_exceeded",  # OpenAI code
    "maximum context length",  # OpenAI message
    "exceeds the context window",
    "exceeds the maximum number of tokens",  # Gemini
    "exceeds the context length",  # Ollama / llama.cpp
    "context length exceeded",
    "too many tokens",
)
_CREDIT_BALANCE = ("credit balance", "billing", "insufficient_quota", "exceeded your current quota")
_INVALID_KEY = ("api key not valid", "api_key_invalid", "invalid api key", "incorrect api key", "invalid x-api-key")
_CONTENT_POLICY = ("content_policy", "content policy", "content management policy", "safety", "flagged")


def _mentions(text: str, fragments: tuple[str, ...]) -> bool:
    return any(fragment in text for fragment in fragments)


def classify_failure(error: UpstreamError, settings: Settings, attempt: int = 1) -> Failure:
    """Name a failed attempt and decide the next step.

    ``attempt`` is the number of the attempt on this provider that just failed, from 1; the
    retries the table allows ("retry once") happen only while it is below
    ``MAX_ATTEMPTS_PER_PROVIDER``.
    """
    may_retry = attempt < MAX_ATTEMPTS_PER_PROVIDER
    if error.kind == "connect":
        return _connection_failure(error, may_retry)
    if error.kind == "timeout":
        return Failure("timeout", "fallback", hang=True)
    if error.kind == "unavailable":
        return Failure("unavailable", "fallback")
    if error.kind == "stream":
        error_class = _stream_class(error)
        return Failure(error_class, "fallback", hang=error_class == "stream_stall")
    return _apply_quota_codes(error.status, settings, _classify_status(error, settings, may_retry))


def _connection_failure(error: UpstreamError, may_retry: bool) -> Failure:
    """A connection refused or dropped before the response is retried at once: it is how a pooled
    keep-alive connection that the upstream's load balancer has just closed fails. DNS, TLS and
    routing failures would fail the same way again."""
    if error.error_type in DROPPED_CONNECTION_CLASSES:
        return Failure(error.error_type, "retry" if may_retry else "fallback")
    return Failure("connection", "fallback")


def _stream_class(error: UpstreamError) -> str:
    if error.error_type == "overloaded_error":  # Anthropic's mid-stream error event
        return "overloaded"
    return error.error_type if error.error_type in STREAM_ERROR_CLASSES else "stream_cut"


def _classify_status(error: UpstreamError, settings: Settings, may_retry: bool) -> Failure:
    status = error.status
    text = f"{error.error_type} {error.message} {error.body}".lower()
    if status == 429:
        if _mentions(text, _CREDIT_BALANCE):  # OpenAI's out-of-credit 429: waiting will not help
            return Failure("credit_balance", "fallback")
        return _rate_limit(error, settings, may_retry)
    if status == 402:
        return Failure("payment_required", "fallback")
    if status in (503, 529) or error.error_type == "overloaded_error":
        return Failure("overloaded", "fallback")
    if status == 401:
        return Failure("unauthorized", "surface")
    if status == 403:
        return Failure("permission", "surface")
    if status == 404:
        return Failure("model_not_found" if "model" in text else "not_found", "fallback")
    if status == 408:
        return Failure("timeout", "fallback")
    if 400 <= status < 500:
        return _classify_bad_request(text)
    if status >= 500:
        if may_retry:
            return Failure("server_error", "retry", min(settings.retry_backoff, settings.max_backoff))
        return Failure("server_error", "fallback")
    return Failure("bad_response", "fallback")  # an http failure without an error status


def _classify_bad_request(text: str) -> Failure:
    if _mentions(text, _CREDIT_BALANCE):
        return Failure("credit_balance", "fallback")
    if _mentions(text, _INVALID_KEY):  # Gemini answers a bad key with 400
        return Failure("invalid_key", "fallback")
    if _mentions(text, _CONTEXT_LENGTH):
        return Failure("context_length", "larger_context")
    if _mentions(text, _CONTENT_POLICY):
        return Failure("content_policy", "surface")
    return Failure("bad_request", "surface")


def _rate_limit(error: UpstreamError, settings: Settings, may_retry: bool) -> Failure:
    asked = error.retry_after  # read from the upstream's headers by the provider
    wait = settings.retry_backoff if asked is None else asked
    # A long Retry-After is better spent on the next provider than waiting here.
    if may_retry and wait <= settings.max_backoff:
        return Failure("rate_limit", "retry", max(wait, 0.0))
    return Failure("rate_limit", "fallback")


def _apply_quota_codes(status: int, settings: Settings, failure: Failure) -> Failure:
    """Operator-configured quota codes always move on (except 401: a bad key is never masked);
    default quota codes the operator removed are surfaced."""
    if failure.action == "retry":
        return failure
    if status in settings.quota_status_codes and failure.action == "surface" and status != 401:
        return Failure(failure.error_class, "fallback")
    if status in DEFAULT_QUOTA_STATUS_CODES and status not in settings.quota_status_codes:
        return Failure(failure.error_class, "surface")
    return failure
