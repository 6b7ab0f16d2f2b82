"""The ``X-Trooper-*`` response headers, built from the trail of one routed turn.

| header                     | example                                   |
|----------------------------|-------------------------------------------|
| X-Trooper-Provider         | ``ollama`` (who answered, or whose error the caller sees) |
| X-Trooper-Decision         | ``ollama (simple turn) | cloud skipped``, ``claude (escalated)``, ``openai (escalated) | Responses API: reasoning items kept``, ``claude (direct)``, ``ollama (fallback: credit_balance)``, ``ollama (hedge: slow_first_token)``, ``claude (escalated) | hedge cancelled: ollama`` |
| X-Trooper-Summary          | ``claude (direct) ✓``, ``claude → ollama (529) | context ✓`` |
| X-Trooper-Trigger          | the failure that caused the first switch (``overloaded (claude 529)``), else the route reason |
| X-Trooper-Fallback-Count   | provider switches (retries on one provider are not switches) |
| X-Trooper-Session-Saved    | ``42 tokens``: cloud tokens this session avoided by answering locally (only when some were) |

Encoding: HTTP/1.1 header values are bytes. Tornado 6 refuses a ``str`` value with characters
above U+00FF (``ValueError: Unsafe header value``) and writes the others as latin-1. httpx (and so
the anthropic and openai SDKs) decodes a response's headers as ASCII, else UTF-8, else latin-1.
So ``trooper_headers`` returns each value as its UTF-8 bytes seen through latin-1: Tornado writes
exactly those UTF-8 bytes, and an httpx client reads ``→`` and ``✓`` back intact. Browsers'
``fetch`` shows the same bytes as latin-1; the dashboard re-decodes them as UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trooper.routing.builtin_tools import is_builtin_reason
from trooper.routing.classifier import Route
from trooper.routing.policy import SLOW_FIRST_TOKEN
from trooper.wording import counted

#: Why OpenAI got a turn by its Responses API when it offers no built-in tools (the decision
#: header and the ``responses_api`` event say it).
REASONING_KEPT = "reasoning items kept"

#: What a provider's request lost, each noted on the trail and recorded as an event of its kind:
#: images a model cannot see (it got a placeholder), PDF documents it cannot read (a note), a
#: forced tool call it takes as a free one (Ollama), token log probabilities it cannot give.
IMAGES_OMITTED = "images_omitted"
DOCUMENTS_OMITTED = "documents_omitted"
TOOL_CHOICE_DROPPED = "tool_choice_dropped"
LOGPROBS_UNAVAILABLE = "logprobs_unavailable"

Outcome = Literal["ok", "failed", "skipped", "cancelled", "pending"]


@dataclass(frozen=True)
class Attempt:
    provider: str
    #: ``skipped``: not called (breaker open, not configured); ``failed``: called and failed (a
    #: hedged attempt that lost the race too: ``slow_first_token``); ``cancelled``: a hedge that
    #: lost the race to an earlier attempt; ``pending``: under way (never seen in headers: every
    #: attempt has its outcome before the turn answers or fails).
    outcome: Outcome
    status: int = 0
    error_class: str = ""

    def failure_label(self) -> str:
        """What went wrong, shortest first: the HTTP status when there was one."""
        return str(self.status) if self.status else self.error_class


@dataclass
class Trail:
    """What happened to one turn, in order, as the router recorded it."""

    #: The tier the router started with, and why (a classifier reason, or ``forced``).
    route: Route
    reason: str
    forced: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    #: The conversation was compacted to fit the answering model's window.
    compacted: bool = False
    #: What was noted of the request as each provider got it, as (event kind, provider): each is
    #: recorded once a turn (a retry or a rescue prepares the request again).
    noted: set[tuple[str, str]] = field(default_factory=set)
    #: The provider that got the turn by OpenAI's Responses API, not Chat Completions, to keep the
    #: client's OpenAI reasoning items (a turn with built-in tools says so in its reason instead).
    responses_api: str | None = None
    #: Cloud tokens the session has avoided so far by being answered locally.
    tokens_saved: int = 0

    def note(self, kind: str, provider: str) -> bool:
        """Note ``kind`` for ``provider``; False when this turn had noted it already."""
        if (kind, provider) in self.noted:
            return False
        self.noted.add((kind, provider))
        return True

    def noted_for_any(self, kind: str) -> bool:
        """Whether ``kind`` was noted for some provider this turn."""
        return any(noted == kind for noted, _ in self.noted)

    def answered_by(self) -> Attempt | None:
        return next((a for a in reversed(self.attempts) if a.outcome == "ok"), None)

    def tried(self) -> list[Attempt]:
        """The attempts that count toward the answer: called, and not a hedge cancelled because an
        earlier attempt answered first."""
        return [a for a in self.attempts if a.outcome not in ("skipped", "cancelled")]

    def cancelled_hedges(self) -> list[str]:
        return [a.provider for a in self.attempts if a.outcome == "cancelled"]

    def fallback_count(self) -> int:
        providers = [a.provider for a in self.tried()]
        return sum(1 for before, after in zip(providers, providers[1:]) if before != after)

    def first_switch(self) -> Attempt | None:
        """The failed attempt that made the router move to another provider."""
        tried = self.tried()
        return next((a for a, b in zip(tried, tried[1:]) if a.outcome == "failed" and a.provider != b.provider), None)


def first_trigger(route: str, reason: str, forced: bool) -> str:
    """Why a turn's first provider was tried, in the words the store and the decision header
    share: ``direct`` (a forced route), ``escalated``, or the local reason (``simple turn``…); a
    turn only OpenAI could answer says so (``built-in tools: web_search``) whatever its route."""
    if is_builtin_reason(reason):
        return reason
    if forced:
        return "direct"
    # Trooper is local first: every turn the router sends to the cloud is an escalation.
    return reason if route == "local" else "escalated"


def _mode(trail: Trail) -> str:
    return first_trigger(trail.route, trail.reason, trail.forced)


def _last_failure(trail: Trail) -> Attempt | None:
    """The last provider that failed; a skipped one only when none was called and failed."""
    failed = [a for a in trail.attempts if a.outcome == "failed"]
    skipped = [a for a in trail.attempts if a.outcome == "skipped"]
    last = failed or skipped
    return last[-1] if last else None


def provider_header(trail: Trail) -> str:
    answered = trail.answered_by()
    if answered is not None:
        return answered.provider
    tried = trail.tried()
    return tried[-1].provider if tried else "none"


def decision_header(trail: Trail) -> str:
    answered = trail.answered_by()
    last_failure = _last_failure(trail)
    if answered is None:
        return f"{provider_header(trail)} (failed: {last_failure.error_class if last_failure else 'no provider'})"
    cancelled = trail.cancelled_hedges()
    hedges = f" | hedge cancelled: {', '.join(cancelled)}" if cancelled else ""
    # Which API answered, when it was chosen for the client's reasoning items, whoever was tried first.
    api = f" | Responses API: {REASONING_KEPT}" if trail.responses_api == answered.provider else ""
    if trail.attempts[0].provider != answered.provider and last_failure is not None:
        switch = "hedge" if last_failure.error_class == SLOW_FIRST_TOKEN else "fallback"
        return f"{answered.provider} ({switch}: {last_failure.error_class}){hedges}{api}"
    decision = f"{answered.provider} ({_mode(trail)}){hedges}"
    if trail.noted_for_any(IMAGES_OMITTED):
        decision += " | images omitted: the model cannot see them"
    if trail.noted_for_any(DOCUMENTS_OMITTED):
        decision += " | documents omitted: the model cannot read them"
    if trail.noted_for_any(TOOL_CHOICE_DROPPED):
        decision += " | tool choice dropped: the model takes none"
    if (LOGPROBS_UNAVAILABLE, answered.provider) in trail.noted:
        decision += " | no logprobs: the model gives none"
    decision += api
    # A cancelled hedge from a local answer went to the cloud: the cloud was not skipped.
    return f"{decision} | cloud skipped" if trail.route == "local" and not trail.forced and not cancelled else decision


def summary_header(trail: Trail) -> str:
    tried = trail.tried()
    if not tried:
        return "none ✗"
    chain = " → ".join(a.provider for a in tried)
    failures = [a.failure_label() for a in tried if a.outcome == "failed"]
    detail = ", ".join(failures) if failures else _mode(trail)
    context = " | context" if trail.compacted else ""
    mark = "✓" if trail.answered_by() else "✗"
    return f"{chain} ({detail}){context} {mark}"


def trigger_header(trail: Trail) -> str:
    switch = trail.first_switch()
    if switch is None:
        return trail.reason
    where = f"{switch.provider} {switch.status}" if switch.status else switch.provider
    return f"{switch.error_class} ({where})"


def trooper_headers(trail: Trail) -> dict[str, str]:
    """All ``X-Trooper-*`` headers, each value ready for Tornado's ``set_header`` (see above)."""
    headers = {
        "X-Trooper-Provider": provider_header(trail),
        "X-Trooper-Decision": decision_header(trail),
        "X-Trooper-Summary": summary_header(trail),
        "X-Trooper-Trigger": trigger_header(trail),
        "X-Trooper-Fallback-Count": str(trail.fallback_count()),
    }
    if trail.tokens_saved > 0:
        headers["X-Trooper-Session-Saved"] = counted(trail.tokens_saved, "token")
    return {name: wire_value(value) for name, value in headers.items()}


def wire_value(text: str) -> str:
    """``text`` as its UTF-8 bytes viewed through latin-1, so a server that writes ``str`` header
    values as latin-1 (Tornado) puts UTF-8 on the wire. ASCII text is unchanged."""
    return text.encode("utf-8").decode("latin-1")
