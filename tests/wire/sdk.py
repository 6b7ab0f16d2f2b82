"""Run Trooper's encoded output through the official SDKs, with strict response validation.

The SDK clients talk to an ``httpx2.MockTransport`` that answers with the given bytes, so the
SDKs' own SSE parsers, models and stream accumulators judge the output.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import openai


class _Canned:
    """One reusable transport that answers every request with the bytes set last."""

    def __init__(self) -> None:
        self.body = b""
        self.content_type = "application/json"
        self.client = httpx2.Client(transport=httpx2.MockTransport(self._answer))

    def _answer(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": self.content_type}, content=self.body)


_CANNED = _Canned()
_ANTHROPIC = anthropic.Anthropic(api_key="test", http_client=_CANNED.client, _strict_response_validation=True, max_retries=0)
_OPENAI = openai.OpenAI(api_key="test", http_client=_CANNED.client, _strict_response_validation=True, max_retries=0)


def _anthropic(body: bytes, content_type: str) -> anthropic.Anthropic:
    _CANNED.body, _CANNED.content_type = body, content_type
    return _ANTHROPIC


def _openai(body: bytes, content_type: str) -> openai.OpenAI:
    _CANNED.body, _CANNED.content_type = body, content_type
    return _OPENAI


_ANTHROPIC_ARGS: dict[str, Any] = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
_OPENAI_ARGS: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "x"}]}


def anthropic_stream_message(sse: bytes) -> anthropic.types.Message:
    """The final message the Anthropic SDK's MessageStream accumulates from ``sse``."""
    with _anthropic(sse, "text/event-stream").messages.stream(**_ANTHROPIC_ARGS) as stream:
        return stream.get_final_message()


def anthropic_beta_stream_message(sse: bytes) -> anthropic.types.beta.BetaMessage:
    """The same by the SDK's beta client, which knows the beta's blocks (Claude's compaction)."""
    with _anthropic(sse, "text/event-stream").beta.messages.stream(**_ANTHROPIC_ARGS) as stream:
        return stream.get_final_message()


def anthropic_message(body: dict[str, Any]) -> anthropic.types.Message:
    return _anthropic(json.dumps(body).encode(), "application/json").messages.create(**_ANTHROPIC_ARGS)


def openai_stream_completion(sse: bytes) -> Any:
    """The final completion the OpenAI SDK's ChatCompletionStream accumulates from ``sse``."""
    with _openai(sse, "text/event-stream").chat.completions.stream(**_OPENAI_ARGS) as stream:
        try:
            return stream.get_final_completion()
        except openai.LengthFinishReasonError as exc:
            # The helper refuses to parse a truncated answer but still hands over what it accumulated.
            return exc.completion


def openai_stream_chunks(sse: bytes) -> list[Any]:
    """Every chunk as the SDK parses it (the plain, non-accumulating stream)."""
    return list(_openai(sse, "text/event-stream").chat.completions.create(stream=True, **_OPENAI_ARGS))


def openai_completion(body: dict[str, Any]) -> Any:
    return _openai(json.dumps(body).encode(), "application/json").chat.completions.create(**_OPENAI_ARGS)


_RESPONSES_ARGS: dict[str, Any] = {"model": "m", "input": "x"}


def openai_response(body: dict[str, Any]) -> Any:
    """A Responses API body as the SDK's ``responses.create`` parses it."""
    return _openai(json.dumps(body).encode(), "application/json").responses.create(**_RESPONSES_ARGS)


def openai_response_stream(sse: bytes) -> tuple[list[Any], Any]:
    """(every event as the SDK's ResponseStream yields it, the response of its last event).

    The last event's response is ``get_final_response()`` for a completed stream; an incomplete
    or failed one ends with ``response.incomplete`` / ``response.failed`` instead."""
    with _openai(sse, "text/event-stream").responses.stream(**_RESPONSES_ARGS) as stream:
        events = list(stream)
        final = stream.get_final_response() if events and events[-1].type == "response.completed" else events[-1].response
    return events, final


def response_fields(response: Any) -> dict[str, Any]:
    """A Responses API response as plain data, without the SDK's ``parsed*`` helper fields (a
    streamed response is a ``ParsedResponse``), so a streamed and a created one compare."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if not k.startswith("parsed")}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(response.model_dump())
