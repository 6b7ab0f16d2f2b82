"""``POST /v1/responses/compact``: the Responses API's compaction of a conversation (Codex's remote
compaction when its provider is OpenAI's, the SDK's ``responses.compact``), by the model the turn
routes to.

OpenAI answers this call with the user's messages and one compaction item whose content only
OpenAI can read. Trooper answers in the same shape, but its compaction item holds a summary that
any model reads (tagged as Trooper's, ``wire/responses.py``): the compacted conversation stays
readable by Claude, a local model and OpenAI alike, as the rest of a session is. The summary is
asked of the routed model as one more turn of the session (recorded as any turn is, as a
client's own compaction prompt would be); the call offers no tools, so the history's tool calls
and results reach the model told as text, but the session records the conversation as the client
sent it: the compacted history Codex sends next (the user's messages, then the summary) continues
the session's transcript after the summary (``memory/transcript.py``) instead of branching it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from trooper.conversation import SUMMARY_HEADING, Message, Request, Response, TextBlock
from trooper.engine.sessions import LiveSession, TurnPlace
from trooper.memory.compaction import truncate_text
from trooper.memory.summary_request import summary_request
from trooper.memory.tokens import count_tokens
from trooper.server.base import to_json
from trooper.server.responses_door import ResponsesHandler
from trooper.wire import responses

#: How much of the user's own words the compacted conversation keeps verbatim, newest first
#: (Codex's own local compaction keeps as much).
KEPT_USER_TOKENS = 20_000


class CompactHandler(ResponsesHandler):
    """``POST /v1/responses/compact`` and ``/responses/compact``."""

    #: The user's own messages the compacted conversation keeps, oldest first.
    kept: list[str]
    #: The conversation as the client sent it, then the turn asking for its summary.
    recorded: list[Message]

    async def decode(self, body: dict[str, Any]) -> tuple[Request, str | None]:
        request, continued = await super().decode(body)
        self.kept = kept_user_texts(request.messages)
        asking = summary_request(request)
        self.recorded = [*request.messages, asking.messages[-1]]
        return replace(asking, stream=False), continued

    def question_of(self, request: Request) -> list[Message]:
        """The conversation as sent, tool calls and all, and the summary's turn: recorded so, the
        session goes on from it (the model reads the tool calls told as text)."""
        return self.recorded

    def encode_response(self, response: Response) -> dict[str, Any]:
        return responses.encode_compaction(self.envelope, self.kept, response.text(), response.usage)

    def response_text(self, response: Response) -> str:
        return to_json(self.encode_response(response))

    def answered(self, session: LiveSession, place: TurnPlace, response: Response) -> None:
        """Nothing is kept by id: a compaction is not a response to continue or fetch."""


def kept_user_texts(messages: list[Message], budget: int = KEPT_USER_TOKENS) -> list[str]:
    """The texts the user wrote (not tool results, not an earlier compaction's summary), the newest
    that fit in ``budget`` tokens, oldest first; the oldest of them cut to fit."""
    texts = [
        block.text
        for message in messages
        if message.role == "user"
        for block in message.content
        if isinstance(block, TextBlock) and block.text and not block.text.startswith(SUMMARY_HEADING)
    ]
    kept: list[str] = []
    room = budget
    for text in reversed(texts):
        tokens = count_tokens(text)
        if tokens > room:
            if room > 0:
                kept.append(truncate_text(text, room))
            break
        kept.append(text)
        room -= tokens
    return kept[::-1]


ROUTES = [
    (r"/v1/responses/compact", CompactHandler),
    (r"/responses/compact", CompactHandler),
]
