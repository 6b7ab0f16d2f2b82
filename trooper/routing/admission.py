"""Admission: the limits that keep one caller from taking the whole server, prompt size and
answers in flight. The turn runner (``engine/turn_runner.py``) admits each turn through a
``StreamLimiter`` for as long as the router answers it.

- A request's prompt, by Trooper's token estimate, is at most ``TROOPER_MAX_REQUEST_TOKENS``
  (checked before anything is recorded, so a refused request leaves no trace in the session).
- At most ``TROOPER_MAX_STREAMS`` upstream turns are answered at once, at most
  ``TROOPER_MAX_SESSION_STREAMS`` in one session (a subagent's child session has its own), and at
  most three quarters of ``TROOPER_MAX_STREAMS`` (when it is 4 or more) for one client (its address and API
  key), so one client opening streams it never reads, each in a session of its own, cannot lock
  everyone else out. One more waits up to ``TROOPER_QUEUE_SECONDS`` for a turn to end (agents send
  bursts: a short wait beats a retry with back-off), then gets a 429 with ``retry-after`` in the
  caller's protocol shape instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from types import TracebackType

from trooper.conversation import Request
from trooper.errors import InvalidRequest, TrooperError
from trooper.memory.tokens import count_request_tokens
from trooper.wording import counted

#: Seconds a refused caller is told to wait: answers in flight usually end within a few.
RETRY_AFTER_SECONDS = 1
#: One client's share of TROOPER_MAX_STREAMS: three quarters, so others always find room.
CLIENT_SHARE_NUMERATOR, CLIENT_SHARE_DENOMINATOR = 3, 4


def check_prompt_tokens(request: Request, limit: int) -> None:
    tokens = count_request_tokens(request.system, request.messages, request.tools)
    if tokens > limit:
        raise InvalidRequest(
            f"prompt is too long: about {counted(tokens, 'token')}, more than the limit of {limit} (TROOPER_MAX_REQUEST_TOKENS)"
        )


def client_identity(address: str, api_key: str | None) -> str:
    """Who a turn is for, for fairness: the caller's address and (a digest of) its API key."""
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:12] if api_key else ""
    return f"{address}|{digest}"


class StreamLimiter:
    """Counts the upstream turns in flight, in all, per session and per client; a turn over a
    limit waits up to ``queue_seconds`` for one to end."""

    def __init__(self, total: int, per_session: int, queue_seconds: float) -> None:
        self.total = total
        self.per_session = per_session
        # Below four slots a share would leave a lone user less than the setting says.
        self.per_client = total if total < 4 else total * CLIENT_SHARE_NUMERATOR // CLIENT_SHARE_DENOMINATOR
        self.queue_seconds = queue_seconds
        self._by_session: Counter[str] = Counter()
        self._by_client: Counter[str] = Counter()
        #: Turns admitted and not ended yet.
        self.in_flight = 0
        #: Set (and replaced) when a turn ends while others wait for room: what they wake up on.
        self._turn_ended = asyncio.Event()
        self._waiting = 0

    def _refusal(self, session_id: str, client: str) -> str | None:
        """Why one more turn of this session and client cannot start now; None when it can."""
        if self.in_flight >= self.total:
            return f"Trooper is answering {counted(self.total, 'turn')} already (TROOPER_MAX_STREAMS)"
        if self._by_session[session_id] >= self.per_session:
            return f"this session has {counted(self.per_session, 'answer')} in progress already (TROOPER_MAX_SESSION_STREAMS)"
        if self._by_client[client] >= self.per_client:
            return f"this client has {counted(self.per_client, 'answer')} in progress already, its share of TROOPER_MAX_STREAMS"
        return None

    async def _wait_for_room(self, session_id: str, client: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.queue_seconds
        while (refusal := self._refusal(session_id, client)) is not None:
            left = deadline - loop.time()
            if left <= 0:
                raise _too_many(refusal)
            self._waiting += 1
            try:
                await asyncio.wait_for(self._turn_ended.wait(), left)
            except asyncio.TimeoutError:
                pass  # checked once more above, then refused
            finally:
                self._waiting -= 1

    def admit(self, session_id: str, client: str = "") -> Admitted:
        """``async with`` it: the turn holds its slot inside."""
        return Admitted(self, session_id, client)

    def _take(self, session_id: str, client: str) -> None:
        self.in_flight += 1
        self._by_session[session_id] += 1
        self._by_client[client] += 1

    def _release(self, session_id: str, client: str) -> None:
        self.in_flight -= 1
        for counter, key in ((self._by_session, session_id), (self._by_client, client)):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]  # no entry per session or client ever seen
        if self._waiting:
            self._turn_ended.set()
            self._turn_ended = asyncio.Event()


class Admitted:
    """One turn's slot, held inside ``async with``; a turn with room (nearly always) is admitted
    without a coroutine of its own (an ``asynccontextmanager`` cost a generator, a task step and
    a new Event per turn)."""

    __slots__ = ("_limiter", "_session_id", "_client")

    def __init__(self, limiter: StreamLimiter, session_id: str, client: str) -> None:
        self._limiter, self._session_id, self._client = limiter, session_id, client

    async def __aenter__(self) -> None:
        limiter = self._limiter
        if limiter._refusal(self._session_id, self._client) is not None:
            await limiter._wait_for_room(self._session_id, self._client)
        limiter._take(self._session_id, self._client)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._limiter._release(self._session_id, self._client)


def _too_many(reason: str) -> TrooperError:
    error = TrooperError(429, f"{reason}; retry in {RETRY_AFTER_SECONDS} s", "rate_limit_error")
    error.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
    return error
