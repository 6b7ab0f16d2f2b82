"""A fake OpenAI Chat Completions API, and Gemini's OpenAI-compatible endpoint built on it.

FakeOpenAI also stands in for OpenAI-compatible local servers (llama.cpp, vLLM, LM Studio).
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import string
import time
from typing import Any, ClassVar, Sequence

from tests.fakes import openai_responses
from tests.fakes.behaviours import HttpError, Reply, asked_logprobs, http_error, token_logprobs, word_chunks
from tests.fakes.playback import Exchange, Frame
from tests.fakes.recording import RecordedRequest, count_tokens
from tests.fakes.server import ErrorResponse, FakeServer, Route

_ALPHABET = string.ascii_letters + string.digits

_FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}

_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _data(payload: object) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


class FakeOpenAI(FakeServer):
    provider = "openai"
    chat_path: ClassVar[str] = "/v1/chat/completions"
    models_path: ClassVar[str] = "/v1/models"
    #: OpenAI streams tool-call arguments in fragments; Gemini sends each call whole.
    fragments_arguments: ClassVar[bool] = True

    def __init__(
        self,
        *,
        port: int = 0,
        api_key: str | None = None,
        supports_tools: bool = True,
        models: Sequence[str] = ("gpt-4o-mini",),
        **kw: Any,
    ) -> None:
        super().__init__(port=port, **kw)
        #: When set, any other bearer token gets the provider's invalid-key error.
        self.api_key = api_key
        #: False imitates a local model without tool support: requests with tools get a 400.
        self.supports_tools = supports_tools
        #: What GET /v1/models lists.
        self.models = list(models)
        #: Parallel tool calls' deltas interleaved (0, 1, 0, 1…) instead of one call after another.
        self.interleaves_tool_calls = False
        #: Message prefixes seen, for OpenAI's automatic prompt caching.
        self.seen_prefixes: set[str] = set()
        #: The Responses API's reasoning items given an ``encrypted_content``: id → that content.
        self.issued_reasoning: dict[str, str] = {}

    @property
    def chat_completions_url(self) -> str:
        return self.url + self.chat_path

    @property
    def responses_url(self) -> str:
        """OpenAI's Responses API (``tests/fakes/openai_responses.py``), beside Chat Completions."""
        return self.url + openai_responses.PATH

    def routes(self) -> dict[tuple[str, str], Route]:
        routes = {("POST", self.chat_path): self.answer, ("GET", self.models_path): self._list_models}
        return {**routes, ("POST", openai_responses.PATH): self.answer} if self.provider == "openai" else routes

    @staticmethod
    def _is_responses(request: RecordedRequest) -> bool:
        return request.path == openai_responses.PATH

    async def _list_models(self, exchange: Exchange, request: RecordedRequest) -> None:
        listing = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"} for m in self.models]
        await self.send_json(exchange, {"object": "list", "data": listing})

    def refuse(self, request: RecordedRequest) -> HttpError | None:
        if self.api_key is not None and request.api_key != self.api_key:
            return HttpError(kind="invalid_api_key")
        body = request.json if isinstance(request.json, dict) else {}
        if not self.supports_tools and body.get("tools"):
            return HttpError(kind="tools_unsupported")
        return openai_responses.refusal(request, self.issued_reasoning) if self._is_responses(request) else None

    def response_headers(self, request: RecordedRequest) -> dict[str, str]:
        return {"x-request-id": "req_" + secrets.token_hex(16)}

    # ------------------------------------------------------------ answers

    def _finish_reason(self, reply: Reply) -> str:
        if reply.stop_reason is not None:
            return _FINISH_REASONS[reply.stop_reason]
        return "tool_calls" if reply.tool_calls else "stop"

    def _envelope(self, request: RecordedRequest, completion_id: str, created: int, obj: str) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": obj,
            "created": created,
            "model": request.model or "unknown",
            "system_fingerprint": "fp_" + secrets.token_hex(5),
        }

    def _cached_tokens(self, request: RecordedRequest) -> int:
        """OpenAI's automatic prompt caching: the longest message prefix seen before, counted
        when it reaches 1,024 tokens, in steps of 128."""
        messages = (request.json or {}).get("messages") if isinstance(request.json, dict) else None
        cached = 0
        for end in range(1, len(messages or []) + 1):
            key = json.dumps(messages[:end], sort_keys=True)
            tokens = count_tokens(key)
            if key in self.seen_prefixes and tokens >= 1024:
                cached = tokens // 128 * 128
            self.seen_prefixes.add(key)
        return min(cached, request.input_tokens())

    def _usage(self, request: RecordedRequest, text: str, reply: Reply) -> dict[str, Any]:
        prompt = request.input_tokens()
        cached = self._cached_tokens(request)
        reasoning = count_tokens(reply.thinking) if reply.thinking else 0
        completion = max(1, reasoning + count_tokens(text) + sum(count_tokens(c.name + c.arguments_json()) for c in reply.tool_calls))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def tool_call_id(self) -> str:
        return "call_" + _random(24)

    def call_extras(self, request: RecordedRequest, position: int) -> dict[str, Any]:
        """Fields the upstream adds to the tool call at ``position`` of an answer (none here)."""
        return {}

    def complete_body(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        if self._is_responses(request):
            return openai_responses.ResponsesAnswer(reply, request, self.seen_prefixes, self.issued_reasoning).complete_body()
        pieces = reply.text_chunks(request)
        text = "".join(pieces)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text if text or not reply.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if reply.thinking:  # as OpenAI-compatible servers of reasoning models send it (llama-server, vLLM, DeepSeek)
            message["reasoning_content"] = reply.thinking
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id or self.tool_call_id(), "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments_json()}, **self.call_extras(request, position),
                }
                for position, c in enumerate(reply.tool_calls)
            ]
        body = self._envelope(request, "chatcmpl-" + _random(29), int(time.time()), "chat.completion")
        top = asked_logprobs(request)
        logprobs = {"content": [token_logprobs(p, i, top) for i, p in enumerate(pieces)], "refusal": None} if top is not None else None
        body["choices"] = [{"index": 0, "message": message, "logprobs": logprobs, "finish_reason": self._finish_reason(reply)}]
        body["usage"] = self._usage(request, text, reply)
        body["service_tier"] = "default"
        return body

    def stream_frames(self, reply: Reply, request: RecordedRequest) -> list[Frame]:
        if self._is_responses(request):
            return openai_responses.ResponsesAnswer(reply, request, self.seen_prefixes, self.issued_reasoning).frames()
        body = request.json if isinstance(request.json, dict) else {}
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        envelope = self._envelope(request, "chatcmpl-" + _random(29), int(time.time()), "chat.completion.chunk")

        top = asked_logprobs(request)

        def chunk(delta: dict[str, Any], finish_reason: str | None = None, position: int | None = None) -> bytes:
            logprobs = None
            if top is not None and position is not None:
                logprobs = {"content": [token_logprobs(delta["content"], position, top)], "refusal": None}
            payload = {**envelope, "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}]}
            if include_usage:
                payload["usage"] = None  # every chunk but the last carries a null usage
            return _data(payload)

        chunks = reply.text_chunks(request)
        frames = [Frame(chunk({"role": "assistant", "content": "", "refusal": None}))]
        frames += [Frame(chunk({"reasoning_content": piece}), content=True) for piece in word_chunks(reply.thinking)] if reply.thinking else []
        frames += [Frame(chunk({"content": piece}, position=i), content=True) for i, piece in enumerate(chunks)]
        per_call: list[list[Frame]] = []
        for index, call in enumerate(reply.tool_calls):
            fragments = call.argument_fragments() if self.fragments_arguments else [call.arguments_json()]
            opening = {
                "index": index, "id": call.id or self.tool_call_id(), "type": "function",
                "function": {"name": call.name, "arguments": ""}, **self.call_extras(request, index),
            }
            per_call.append([Frame(chunk({"tool_calls": [opening]}), content=True)] + [
                Frame(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}), content=True)
                for piece in fragments
            ])
        if self.interleaves_tool_calls:  # index 0, 1, 0, 1…, as several OpenAI-compatible servers send them
            frames += [frame for round_ in itertools.zip_longest(*per_call) for frame in round_ if frame is not None]
        else:
            frames += [frame for call_frames in per_call for frame in call_frames]
        frames.append(Frame(chunk({}, self._finish_reason(reply))))
        if include_usage:
            frames.append(Frame(_data({**envelope, "choices": [], "usage": self._usage(request, "".join(chunks), reply)})))
        frames.append(Frame(b"data: [DONE]\n\n", terminator=True))
        return frames

    def malformed_frame(self) -> bytes:
        return b'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [{"delta": {"cont\n\n'

    def stream_error_frame(self) -> bytes:
        return _data({"error": {"message": "The server is overloaded. Please try again later.", "type": "server_error", "param": None, "code": None}})

    # ------------------------------------------------------------ errors

    def error_response(self, error: HttpError, request: RecordedRequest) -> ErrorResponse:
        status, error_type, code, message, headers = self._error_defaults(error, request)
        payload = {
            "error": {
                "message": error.message or message,
                "type": error.type or error_type,
                "param": "messages" if code == "context_length_exceeded" else None,
                "code": error.code or code,
            }
        }
        return ErrorResponse(status, json.dumps(payload).encode(), {"x-request-id": "req_" + secrets.token_hex(16), **headers})

    def _error_defaults(self, error: HttpError, request: RecordedRequest) -> tuple[int, str, str | None, str, dict[str, str]]:
        """Status, type, code, message and extra headers OpenAI uses for ``error.kind``."""
        model = request.model or "unknown"
        if error.kind == "overloaded":
            return error.status or 503, "server_error", None, "The engine is currently overloaded, please try again later", {}
        if error.kind == "rate_limited":
            message = (
                f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): "
                "Limit 3, Used 3, Requested 1. Please try again in 20s."
            )
            headers = {
                "x-ratelimit-limit-requests": "3",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "20s",
                "x-ratelimit-limit-tokens": "40000",
                "x-ratelimit-remaining-tokens": "39000",
                "x-ratelimit-reset-tokens": "1.5s",
            }
            return error.status or 429, "requests", "rate_limit_exceeded", message, headers
        if error.kind == "out_of_credit":
            message = (
                "You exceeded your current quota, please check your plan and billing details. For more "
                "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
            )
            return error.status or 429, "insufficient_quota", "insufficient_quota", message, {}
        if error.kind == "invalid_api_key":
            message = "Incorrect API key provided: sk-fake. You can find your API key at https://platform.openai.com/account/api-keys."
            return error.status or 401, "invalid_request_error", "invalid_api_key", message, {}
        if error.kind == "context_too_long":
            message = (
                f"This model's maximum context length is 128000 tokens. However, your messages resulted in "
                f"{128000 + request.input_tokens()} tokens. Please reduce the length of the messages."
            )
            return error.status or 400, "invalid_request_error", "context_length_exceeded", message, {}
        if error.kind == "content_blocked":
            message = "Your request was rejected as a result of our safety system."
            return error.status or 400, "invalid_request_error", "content_policy_violation", message, {}
        if error.kind == "model_not_found":
            message = f"The model `{model}` does not exist or you do not have access to it."
            return error.status or 404, "invalid_request_error", "model_not_found", message, {}
        if error.kind == "tools_unsupported":
            return error.status or 400, "api_error", None, f"{model} does not support tools", {}
        if error.kind == "prefill_rejected":
            return error.status or 400, "invalid_request_error", None, "The conversation must end with a user message.", {}
        status = error.status or 500
        error_type = _ERROR_TYPES.get(status, "server_error")
        return status, error_type, None, _DEFAULT_MESSAGES.get(status, "The server had an error while processing your request."), {}


_DEFAULT_MESSAGES = {
    400: "Invalid request.",
    404: "Not found.",
    429: "Too many requests.",
    503: "The server is overloaded or not ready yet.",
}


class FakeGemini(FakeOpenAI):
    """Gemini through its OpenAI-compatible endpoint: same frames, Google's error envelope.

    Gemini 3 models (``gemini-3*``) sign the first tool call of each answer with a
    ``thought_signature`` (in ``extra_content.google``) and refuse a request whose current turn
    sends an assistant tool call back without a signature it issued (or Google's bypass value),
    as the real API does.
    """

    provider = "gemini"
    chat_path = "/v1beta/openai/chat/completions"
    models_path = "/v1beta/openai/models"
    fragments_arguments = False
    SIGNATURE_BYPASS = "skip_thought_signature_validator"

    def __init__(self, *, port: int = 0, models: Sequence[str] = ("gemini-2.0-flash",), **kw: Any) -> None:
        super().__init__(port=port, models=models, **kw)
        #: Every thought signature this fake has handed out.
        self.issued_signatures: list[str] = []

    def tool_call_id(self) -> str:
        return "function-call-" + str(secrets.randbelow(10**19))

    @staticmethod
    def _signs(request: RecordedRequest) -> bool:
        return (request.model or "").startswith("gemini-3")

    def call_extras(self, request: RecordedRequest, position: int) -> dict[str, Any]:
        if not self._signs(request) or position != 0:
            return {}
        signature = base64.b64encode(secrets.token_bytes(48)).decode()
        self.issued_signatures.append(signature)
        return {"extra_content": {"google": {"thought_signature": signature}}}

    def refuse(self, request: RecordedRequest) -> HttpError | None:
        refusal = super().refuse(request)
        if refusal is not None or not self._signs(request):
            return refusal
        messages = (request.json or {}).get("messages") or []
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        for message in messages[last_user + 1 :]:
            calls = message.get("tool_calls") or []
            if message.get("role") != "assistant" or not calls:
                continue
            signature = ((calls[0].get("extra_content") or {}).get("google") or {}).get("thought_signature")
            if signature != self.SIGNATURE_BYPASS and signature not in self.issued_signatures:
                name = calls[0].get("function", {}).get("name")
                return http_error(
                    400,
                    f"Function call is missing a thought_signature in functionCall parts. This is required for tools "
                    f"to work correctly, and missing thought_signature may lead to degraded model performance. "
                    f"Additional data, function call `default_api:{name}` , position 1. Please refer to "
                    f"https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
                    type="INVALID_ARGUMENT",
                )
        return None

    def error_response(self, error: HttpError, request: RecordedRequest) -> ErrorResponse:
        status, google_status, message = self._google_defaults(error, request)
        # Google answers errors on this endpoint with a one-element JSON list.
        payload = [{"error": {"code": status, "message": error.message or message, "status": error.type or google_status}}]
        return ErrorResponse(status, json.dumps(payload).encode(), {})

    def _google_defaults(self, error: HttpError, request: RecordedRequest) -> tuple[int, str, str]:
        model = request.model or "unknown"
        if error.kind == "overloaded":
            return error.status or 503, "UNAVAILABLE", "The model is overloaded. Please try again later."
        if error.kind in ("rate_limited", "out_of_credit"):
            return error.status or 429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."
        if error.kind == "invalid_api_key":
            return error.status or 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."
        if error.kind == "context_too_long":
            tokens = 1_048_576 + request.input_tokens()
            return error.status or 400, "INVALID_ARGUMENT", f"The input token count ({tokens}) exceeds the maximum number of tokens allowed (1048576)."
        if error.kind == "content_blocked":
            return error.status or 400, "INVALID_ARGUMENT", "The request was blocked due to safety reasons."
        if error.kind == "model_not_found":
            return error.status or 404, "NOT_FOUND", f"models/{model} is not found for API version v1beta, or is not supported for generateContent."
        if error.kind == "tools_unsupported":
            return error.status or 400, "INVALID_ARGUMENT", "Function calling is not enabled for this model."
        status = error.status or 500
        google_status = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}
        return status, google_status.get(status, "INTERNAL"), "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
