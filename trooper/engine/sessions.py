"""Live sessions: the in-memory view of each conversation, kept in step with the store.

Every front door goes through here: it resolves the session (a subagent's child session
included), records the turns a client sent (each message once, however often the history is
resent), records the answer, every upstream attempt and every routing event, publishes a live
update for the dashboard, and recomputes the SITREP off the request path, between answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, TypeGuard

from trooper.conversation import (
    Block,
    Message,
    Request,
    Response,
    ToolResultBlock,
    ToolUseBlock,
    block_to_dict,
    message_from_dict,
)
from trooper.engine.live import LiveFeed
from trooper.engine.savings import savings_of
from trooper.errors import TrooperError
from trooper.memory.compaction import Cut
from trooper.memory.identity import (
    ClientIds,
    Opening,
    agent_key,
    child_session_id,
    compaction_key,
    derived_session_id,
    opening_key,
    opening_of,
)
from trooper.memory.sitrep import Sitrep, SitrepBuilder, extract_sitrep
from trooper.memory.sitrep.subagents import Subagent, subagent_of, subagents_from, with_subagents
from trooper.memory.tokens import count_message_tokens
from trooper.memory.transcript import compaction_opening, diff_history
from trooper.newest import Newest
from trooper.prices import PriceTable
from trooper.privacy.placeholders import Placeholders
from trooper.privacy.storage import StoreMask
from trooper.routing.privacy import pinned_kind
from trooper.routing.router import TurnRecorder
from trooper.store.base import Store, StoreWriteError
from trooper.store.records import AttemptRecord, CompactionRecord, EventRecord, SessionRecord, SitrepRecord, TurnRecord

#: Sessions kept in memory; older ones are reloaded from the store when they come back.
MAX_LIVE_SESSIONS = 1000
#: Waiting this long after a turn lets a burst of turns share one SITREP computation.
SITREP_DEBOUNCE_SECONDS = 0.05
#: A session's SITREP is rebuilt and stored at most this often: under many clients each turn
#: comes more than the debounce after the last, and each rebuild cost a stored row and its
#: ``to_dict`` (bench/README.md, Many clients). Needing it sooner (compaction) builds it at once.
SITREP_INTERVAL_SECONDS = 1.0
#: A rebuild that comes due while a turn is being answered waits for the moment none is (its
#: milliseconds would delay that answer: bench/README.md, own work per turn), at most this long.
SITREP_QUIET_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class TurnPlace:
    """Where a turn is: its session, the branch and the position in that branch's transcript."""

    session_id: str
    branch: int
    seq: int


@dataclass
class LiveSession:
    id: str
    source: str
    messages: list[Message] = field(default_factory=list)
    #: ``message_fingerprint`` of each of ``messages``, None until a resend differing from it needs
    #: it (``diff_history``: a message resent unchanged is matched without hashing).
    fingerprints: list[str | None] = field(default_factory=list)
    branch: int = 0
    route: str = "local"
    tokens_saved: int = 0
    #: Dollars its cloud answers cost, and dollars its local answers avoided (``savings_of``).
    cost_spent: float = 0.0
    cost_avoided: float = 0.0
    #: Turns whose cost could not be priced (their model has no price): the dollars leave them out.
    unpriced_turns: int = 0
    fallbacks: int = 0
    escalations: int = 0
    sitrep: Sitrep | None = None
    #: Folds each new turn into the SITREP, so an update costs the new turns, not the session.
    sitrep_builder: SitrepBuilder = field(default_factory=SitrepBuilder)
    #: How many of ``messages`` the builder has read: turns are folded in when a SITREP is built
    #: (debounced, off the request path), not while a request is being answered.
    sitrep_read: int = 0
    #: When (``time.monotonic``) its SITREP was last rebuilt and stored; None: not yet.
    sitrep_updated_at: float | None = None
    #: Tool-call id → the signature its provider attached (Gemini's thought signature), so a
    #: client that resends the call without it (every Anthropic client) still sends it back.
    tool_signatures: dict[str, str] = field(default_factory=dict)
    #: One turn at a time per session: two tabs or a retrying agent cannot interleave answers.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: The session this one is a subagent's child of; None for a root session.
    parent_id: str | None = None
    #: A named session's main conversation's opening, once known: another opening under the same
    #: name is a subagent's (``resolve``).
    opening: Opening | None = None
    #: This session's subagents (child id → what it was asked, whether it is done), in the order
    #: they appeared: its SITREP lists them.
    subagents: dict[str, Subagent] = field(default_factory=dict)
    #: The kind of private data that pinned the session local (``routing.privacy``); None: not pinned.
    private: str | None = None
    #: Its private values and their placeholders under TROOPER_PRIVACY=redact (memory only).
    placeholders: Placeholders = field(default_factory=Placeholders)
    #: The digest of the system prompt last scanned for private data: an unchanged one is not rescanned.
    system_scanned: bytes | None = None
    #: How many of ``messages`` were read back from the store, private values masked: a resent
    #: history is compared with them masked the same way, so it does not look like an edit.
    masked_prefix: int = 0
    #: Where its conversation was last compacted for each provider (memory only: a turn another
    #: process answers cuts anew).
    compaction_cuts: dict[str, Cut] = field(default_factory=dict)


def _turn_role(message: Message) -> str:
    if message.role == "user" and message.content and all(isinstance(b, ToolResultBlock) for b in message.content):
        return "tool"
    return message.role


def _remember_signatures(session: LiveSession, messages: list[Message]) -> None:
    for message in messages:
        for block in message.content:
            if isinstance(block, ToolUseBlock) and block.signature:
                session.tool_signatures[block.id] = block.signature


def with_tool_signatures(session: LiveSession, request: Request) -> Request:
    """``request`` with the provider signature of each tool call the session has seen signed put
    back where the client left it out; the same request when there is nothing to restore."""
    known = session.tool_signatures
    if not known:
        return request

    def unsigned(block: Block) -> TypeGuard[ToolUseBlock]:
        return isinstance(block, ToolUseBlock) and block.signature is None and block.id in known

    def restored(message: Message) -> Message:
        if not any(unsigned(b) for b in message.content):
            return message
        return Message(message.role, [replace(b, signature=known[b.id]) if unsigned(b) else b for b in message.content])

    messages = [restored(m) for m in request.messages]
    changed = any(new is not old for new, old in zip(messages, request.messages))
    return replace(request, messages=messages) if changed else request


def _build_sitrep(session: LiveSession) -> Sitrep:
    """The SITREP of the session's messages, folding in those the builder has not read yet, and
    its subagents."""
    for message in session.messages[session.sitrep_read :]:
        session.sitrep_builder.add(message)
    session.sitrep_read = len(session.messages)
    return with_subagents(session.sitrep_builder.build(), session.subagents.values())


class SessionService:
    def __init__(
        self, store: Store, feed: LiveFeed, *, would_answer: Callable[[], str | None], prices: PriceTable,
        mask: StoreMask | None = None, answering: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        #: What private data the store must not keep in clear (``TROOPER_PRIVACY``); None: all of it.
        self._mask = mask
        self._feed = feed
        #: The cloud model that would answer a turn now, instead of the local tier (the first of
        #: the cloud chain; a key may be added while the server runs); None without a cloud, when
        #: a local answer saves nothing.
        self._would_answer = would_answer
        self._prices = prices
        self._live: OrderedDict[str, LiveSession] = OrderedDict()
        #: The sessions answers compacted, by their compaction (``identity.compaction_key``), the
        #: newest (the store keeps them all): a history that opens with one, and names no session,
        #: continues that session.
        self._compacted: Newest[str, str] = Newest(MAX_LIVE_SESSIONS)
        self._loading: dict[str, asyncio.Future[LiveSession]] = {}
        self._sitrep_tasks: dict[str, asyncio.TimerHandle] = {}
        #: Whether the server is answering a turn now (the runtime asks its app); then a SITREP
        #: rebuild waits, in ``_after_answers``, for ``answered``.
        self._answering = answering
        self._after_answers: dict[str, LiveSession] = {}

    async def resolve(self, ids: ClientIds, request: Request, source: str, client: str = "") -> LiveSession:
        """The session a front door's request belongs to: the one its client named (or the one its
        conversation's opening names), or a child of that one for a subagent's request, which is
        one that names an agent, or whose opening differs from the named session's. ``client``:
        who sends it, as ``identity.client_name`` names it."""
        if ids.session is None:
            summary = compaction_opening(request.messages)
            resumed = await self._compacted_session(compaction_key(summary)) if summary else None
            return await self.open(resumed or derived_session_id(request), source, client)
        named = await self.open(ids.session, source, client)
        if ids.agent is not None:
            parent = named if ids.parent_agent is None else await self._child(named, agent_key(ids.parent_agent), named, client)
            return await self._child(named, agent_key(ids.agent), parent, client)
        opening = opening_of(request)
        if named.opening is None:  # the first conversation under a name is the main one
            named.opening = opening
            self._store.upsert_session(SessionRecord(named.id, named.source, opening=opening.encoded()))
        if not opening.starts_another(named.opening):
            return named
        return await self._child(named, opening_key(opening), named, client)

    def compacted(self, session: LiveSession, summary: str) -> None:
        """An answer of ``session`` compacted it into ``summary`` (Claude's compaction block): kept
        with the turn, so the history opening with it continues the session after a restart and
        on another replica."""
        key = compaction_key(summary)
        self._store.add_compaction(CompactionRecord(key, session.id))
        self._compacted.put(key, session.id)

    async def _compacted_session(self, key: str) -> str | None:
        return self._compacted.get(key) or await self._store.compacted_session(key)

    async def _child(self, named: LiveSession, key: str, parent: LiveSession, client: str) -> LiveSession:
        """The child session ``key`` of the session the client named, under ``parent``."""
        return await self.open(child_session_id(named.id, key), named.source, client, parent_id=parent.id)

    async def open(self, session_id: str, source: str, client: str = "", *, parent_id: str | None = None) -> LiveSession:
        """The live session, restored from the store after a restart, or a new one (from
        ``client``, as ``identity.client_name`` names it; a child of ``parent_id`` when given).
        Concurrent first requests of a session share one load."""
        session = self._live.get(session_id)
        if session is not None:
            self._live.move_to_end(session_id)
            return session
        loading = self._loading.get(session_id)
        if loading is None:
            loading = self._loading[session_id] = asyncio.ensure_future(self._load(session_id, source, client, parent_id))
            loading.add_done_callback(lambda _: self._loading.pop(session_id, None))
        return await asyncio.shield(loading)  # a caller that goes away does not cancel the others' load

    async def _load(self, session_id: str, source: str, client: str, parent_id: str | None) -> LiveSession:
        stored = await self._store.get_session(session_id)
        session = LiveSession(session_id, source, parent_id=parent_id)
        if stored is None:
            self._store.upsert_session(SessionRecord(session_id, source, client=client, parent_id=parent_id))
            self._feed.publish({"type": "session", "session_id": session_id})
        else:
            session.source = stored.get("source") or source
            session.parent_id = stored.get("parent_id")
            session.opening = Opening.decode(stored.get("opening") or "")
            session.subagents = subagents_from(stored.get("sitrep"))
            session.route = stored.get("route") or "local"
            session.tokens_saved = int(stored.get("tokens_saved") or 0)
            session.cost_spent = float(stored.get("cost_spent") or 0.0)
            session.cost_avoided = float(stored.get("cost_avoided") or 0.0)
            session.unpriced_turns = int(stored.get("unpriced_turns") or 0)
            session.fallbacks = int(stored.get("fallbacks") or 0)
            session.escalations = int(stored.get("escalations") or 0)
            session.branch = int(stored.get("branch") or 0)
            session.messages = [message_from_dict(m) for m in await self._store.session_messages(session_id)]
            session.fingerprints = [None] * len(session.messages)
            _remember_signatures(session, session.messages)
            session.private = pinned_kind(await self._store.events(session_id))
            session.masked_prefix = len(session.messages) if self._mask is not None else 0
        self._live[session_id] = session
        while len(self._live) > MAX_LIVE_SESSIONS:
            self._live.popitem(last=False)
        return session

    def peek(self, session_id: str) -> LiveSession | None:
        return self._live.get(session_id)

    def _comparable(self, session: LiveSession, incoming: list[Message]) -> list[Message]:
        """``incoming`` with the messages the session read back from the store masked as they are."""
        held = min(session.masked_prefix, len(incoming))
        if self._mask is None or not held:
            return incoming
        return [self._mask.message(m) for m in incoming[:held]] + list(incoming[held:])

    def forget(self, session_id: str) -> None:
        """Drop this process's copy of a session another replica changed: the next turn loads it
        from the store. A copy a turn is being answered with is kept (its lock orders the turns)."""
        session = self._live.get(session_id)
        if session is not None and not session.lock.locked():
            del self._live[session_id]

    def record_history(self, session: LiveSession, incoming: list[Message]) -> int:
        """Record the messages of a resent history that the session does not hold yet."""
        incoming = self._comparable(session, incoming)
        diff = diff_history(session.messages, incoming, stored_fingerprints=session.fingerprints)
        if diff.branched:
            session.branch += 1
            kept = incoming[diff.incoming_at : diff.incoming_at + diff.common_prefix - diff.resumed_at]
            session.messages = [*session.messages[: diff.resumed_at], *kept]
            session.fingerprints = session.fingerprints[: diff.common_prefix]
            session.sitrep_builder = SitrepBuilder()
            session.sitrep_read = 0
        new_messages = list(diff.appended)
        self._append(session, new_messages, provider="", model="")
        return len(new_messages)

    def record_answer(
        self, session: LiveSession, response: Response, *, provider: str, tier: str, latency_ms: float
    ) -> TurnPlace:
        """Record the answer as the session's next turn; returns where it is."""
        message = Message("assistant", list(response.content))
        savings = savings_of(response, tier, would_answer=self._would_answer(), prices=self._prices)
        session.tokens_saved += savings.tokens_saved
        session.cost_spent += savings.cost_spent or 0.0
        session.cost_avoided += savings.cost_avoided or 0.0
        session.unpriced_turns += (savings.cost_spent is None) + (savings.cost_avoided is None)
        self._append(
            session,
            [message],
            provider=provider,
            model=response.model,
            tokens_in=response.usage.input_tokens,
            tokens_cached=response.usage.cache_read_input_tokens,
            tokens_out=response.usage.output_tokens,
            latency_ms=latency_ms,
            tokens_saved=savings.tokens_saved,
            cost_spent=savings.cost_spent,
            cost_avoided=savings.cost_avoided,
            stop_reason=response.stop_reason,
            tier=tier,
        )
        return TurnPlace(session.id, session.branch, len(session.messages) - 1)

    async def history_at(self, place: TurnPlace, source: str) -> list[Message]:
        """The conversation as it stood at ``place``: its branch's messages up to that turn. The
        live session holds them unless the session has branched since (then the store does)."""
        session = await self.open(place.session_id, source)
        if session.branch == place.branch and len(session.messages) > place.seq:
            return session.messages[: place.seq + 1]
        turns = await self._store.transcript(place.session_id, place.branch)
        return [message_from_dict(turn) for turn in turns if turn["seq"] <= place.seq]

    def _append(self, session: LiveSession, messages: list[Message], **turn_fields: Any) -> None:
        if not messages:
            return
        start = len(session.messages)
        session.messages.extend(messages)
        _remember_signatures(session, messages)
        session.fingerprints.extend([None] * len(messages))
        now = time.time()
        records = []
        for offset, message in enumerate(messages):
            fields = dict(turn_fields)
            if "tokens_in" not in fields and "tokens_out" not in fields:
                key = "tokens_out" if message.role == "assistant" else "tokens_in"
                fields[key] = count_message_tokens(message)
            records.append(
                TurnRecord(
                    session_id=session.id,
                    seq=start + offset,
                    role=_turn_role(message),  # type: ignore[arg-type]  # one of TurnRole's values
                    content=self._stored([block_to_dict(b) for b in message.content]),
                    created_at=now,
                    branch=session.branch,
                    **fields,
                )
            )
        self._store.add_turns(records)
        self._feed.publish({"type": "turn", "session_id": session.id})
        self._schedule_sitrep(session)

    def _stored(self, value: Any) -> Any:
        return value if self._mask is None else self._mask.data(value)

    async def committed(self, session: LiveSession) -> None:
        """Wait until every write recorded so far is committed to disk: a turn is acknowledged to
        its client only after this, so a crash never loses an answer someone has received. When
        the session's writes could not be committed (none of them is kept), the turn fails with a
        500 instead of being acknowledged."""
        try:
            await self._store.flush(session.id)
        except StoreWriteError:
            # What this process holds of the session went further than the store: forget it, so the
            # next turn starts again from what was committed and records the resent history anew.
            self._live.pop(session.id, None)
            raise TrooperError(
                500, "Trooper could not store this turn, so it is not acknowledged: send it again (the server log says why)",
                "api_error",
            ) from None

    def recorder_for(self, session: LiveSession) -> TurnRecorder:
        """What the router reports a turn of this session to."""
        return TurnRecorder(
            session.id,
            attempt=self.record_attempt,
            event=lambda kind, **detail: self.record_event(session, kind, **detail),
            sitrep=lambda messages: self.sitrep_of_request(session, messages),
            cuts=session.compaction_cuts,
        )

    def record_attempt(self, record: AttemptRecord) -> None:
        self._store.add_attempt(record)
        self._feed.publish({"type": "attempt", "session_id": record.session_id})

    def record_event(self, session: LiveSession, kind: str, **detail: Any) -> None:
        if kind == "fallback":
            session.fallbacks += 1
        elif kind == "escalated":
            session.escalations += 1
        self._store.add_event(EventRecord(session.id, kind, detail))
        self._feed.publish({"type": "event", "session_id": session.id, "kind": kind})

    def set_route(self, session: LiveSession, route: str) -> None:
        session.route = route
        self._store.set_route(session.id, route)
        self._feed.publish({"type": "session", "session_id": session.id})

    def sitrep_now(self, session: LiveSession) -> Sitrep:
        """The SITREP of the session as it stands (computed now if a turn changed it)."""
        handle = self._sitrep_tasks.pop(session.id, None)
        if handle is not None:
            handle.cancel()
            self._update_sitrep(session)
        if session.sitrep is None:
            session.sitrep = _build_sitrep(session)
        return session.sitrep

    def sitrep_of_request(self, session: LiveSession, messages: list[Message]) -> Sitrep:
        """The SITREP of the conversation a request carries, before the store has caught up.

        A front door records a request's new messages after answering it, so the session may not
        hold them yet (or any of them, on a session's first request): the session's builder is
        copied and the request's new messages are folded into the copy. A request that rewrites
        the history is read on its own.
        """
        messages = self._comparable(session, messages)
        diff = diff_history(session.messages, messages, stored_fingerprints=session.fingerprints)
        if diff.branched:
            return with_subagents(extract_sitrep(messages), session.subagents.values())
        stored = self.sitrep_now(session)
        if not diff.appended:
            return stored
        builder = session.sitrep_builder.copy()
        for message in diff.appended:
            builder.add(message)
        return with_subagents(builder.build(), session.subagents.values())

    def _schedule_sitrep(self, session: LiveSession) -> None:
        if session.id in self._sitrep_tasks:
            return
        loop = asyncio.get_running_loop()
        delay = SITREP_DEBOUNCE_SECONDS
        if session.sitrep_updated_at is not None:
            delay = max(delay, session.sitrep_updated_at + SITREP_INTERVAL_SECONDS - time.monotonic())
        self._sitrep_tasks[session.id] = loop.call_later(delay, self._sitrep_due, session)

    def _sitrep_due(self, session: LiveSession) -> None:
        """Rebuild now, unless a turn is being answered: then after the last answer (``answered``),
        or at the latest ``SITREP_QUIET_WAIT_SECONDS`` on."""
        if not self._answering():
            self._update_sitrep(session)
            return
        self._after_answers[session.id] = session
        loop = asyncio.get_running_loop()
        self._sitrep_tasks[session.id] = loop.call_later(SITREP_QUIET_WAIT_SECONDS, self._update_sitrep, session)

    def answered(self) -> None:
        """A response has gone out: if no other turn is being answered, the SITREP rebuilds that
        came due meanwhile run now, before the next request comes."""
        if not self._after_answers or self._answering():
            return
        waiting, self._after_answers = self._after_answers, {}
        for session_id, session in waiting.items():
            handle = self._sitrep_tasks.get(session_id)
            if handle is not None:
                handle.cancel()
                self._update_sitrep(session)

    def _update_sitrep(self, session: LiveSession) -> None:
        self._sitrep_tasks.pop(session.id, None)
        self._after_answers.pop(session.id, None)
        session.sitrep_updated_at = time.monotonic()
        session.sitrep = _build_sitrep(session)
        self._store.add_sitrep(SitrepRecord(session.id, self._stored(session.sitrep.to_dict()), turn_count=len(session.messages)))
        self._feed.publish({"type": "sitrep", "session_id": session.id})
        self._tell_parent(session, session.sitrep)

    def _tell_parent(self, child: LiveSession, sitrep: Sitrep) -> None:
        """Bring the parent's view of ``child`` up to date, and its SITREP when that view changed
        (a parent no longer in memory learns it at the child's next turn after it comes back)."""
        parent = self._live.get(child.parent_id) if child.parent_id else None
        if parent is None:
            return
        seen = subagent_of(child.id, child.messages, sitrep)
        if parent.subagents.get(child.id) != seen:
            parent.subagents[child.id] = seen
            self._schedule_sitrep(parent)

    def flush_sitreps(self) -> None:
        """Compute pending SITREPs now (graceful shutdown), a parent's that its child's changes."""
        while self._sitrep_tasks:
            session_id, handle = self._sitrep_tasks.popitem()
            handle.cancel()
            session = self._live.get(session_id)
            if session is not None:
                self._update_sitrep(session)
