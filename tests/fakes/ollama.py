"""A fake Ollama: POST /api/chat (NDJSON, streaming unless ``stream: false``), /api/show, /api/tags."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from tests.fakes.behaviours import HttpError, Reply, asked_logprobs, token_logprobs
from tests.fakes.playback import Exchange, Frame
from tests.fakes.recording import RecordedRequest, count_tokens
from tests.fakes.server import ErrorResponse, FakeServer, Route

_DONE_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop", "max_tokens": "length"}


@dataclass(frozen=True)
class OllamaModel:
    """An installed ("pulled") model as /api/tags and /api/show describe it."""

    name: str
    context_length: int = 131072
    capabilities: tuple[str, ...] = ("completion", "tools")
    #: The GGUF architecture: /api/show reports ``<architecture>.context_length``.
    architecture: str = "llama"
    parameter_size: str = "8.0B"
    quantization_level: str = "Q4_K_M"
    size: int = 4_920_753_328

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.architecture,
            "families": [self.architecture],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }


def full_name(name: str) -> str:
    """Ollama's canonical model name: a bare name means the ``latest`` tag."""
    return name if ":" in name else name + ":latest"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _line(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload) + "\n").encode()


class FakeOllama(FakeServer):
    provider = "ollama"
    stream_content_type = "application/x-ndjson"

    def __init__(self, *, port: int = 0, models: Sequence[OllamaModel] | None = None, **kw: Any) -> None:
        super().__init__(port=port, **kw)
        #: The pulled models; a chat naming any other gets Ollama's 404 "try pulling it first".
        self.models: list[OllamaModel] = list(models) if models is not None else [OllamaModel("llama3.1:8b")]

    @property
    def api_chat_url(self) -> str:
        return self.url + "/api/chat"

    def install(self, name: str, **details: Any) -> OllamaModel:
        self.uninstall(name)
        model = OllamaModel(full_name(name), **details)
        self.models.append(model)
        return model

    def uninstall(self, name: str) -> None:
        self.models = [m for m in self.models if m.name != full_name(name)]

    def find(self, name: str | None) -> OllamaModel | None:
        wanted = full_name(name or "")
        return next((m for m in self.models if m.name == wanted), None)

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            ("GET", "/"): self._banner,
            ("HEAD", "/"): self._banner,
            ("GET", "/api/version"): self._version,
            ("GET", "/api/tags"): self._tags,
            ("POST", "/api/show"): self._show,
            ("POST", "/api/chat"): self.answer,
        }

    async def _banner(self, exchange: Exchange, request: RecordedRequest) -> None:
        await exchange.send(200, b"Ollama is running", "text/plain; charset=utf-8")

    async def _version(self, exchange: Exchange, request: RecordedRequest) -> None:
        await self.send_json(exchange, {"version": "0.12.6"})

    async def _tags(self, exchange: Exchange, request: RecordedRequest) -> None:
        listing = [
            {"name": m.name, "model": m.name, "modified_at": _now(), "size": m.size, "digest": m.digest, "details": m.details()}
            for m in self.models
        ]
        await self.send_json(exchange, {"models": listing})

    async def _show(self, exchange: Exchange, request: RecordedRequest) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        name = body.get("model") or body.get("name")  # older clients send "name"
        model = self.find(name)
        if model is None:
            await self.send_json(exchange, {"error": f"model '{name}' not found"}, status=404)
            return
        await self.send_json(
            exchange,
            {
                "license": "",
                "modelfile": f"FROM {model.name}\n",
                "parameters": 'stop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": model.details(),
                "model_info": {
                    "general.architecture": model.architecture,
                    "general.parameter_count": 8_030_261_248,
                    f"{model.architecture}.context_length": model.context_length,
                },
                "capabilities": list(model.capabilities),
                "modified_at": _now(),
            },
        )

    def refuse(self, request: RecordedRequest) -> HttpError | None:
        body = request.json if isinstance(request.json, dict) else {}
        if not body.get("model"):
            return HttpError(400, message="model is required")
        model = self.find(body["model"])
        if model is None:
            return HttpError(kind="model_not_found")
        if body.get("tools") and "tools" not in model.capabilities:
            return HttpError(kind="tools_unsupported")
        return None

    def is_streaming(self, request: RecordedRequest) -> bool:
        # Ollama streams unless told not to.
        return not (isinstance(request.json, dict) and request.json.get("stream") is False)

    # ------------------------------------------------------------ answers

    def _message(self, request: RecordedRequest, content: str, reply: Reply | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reply is not None and reply.tool_calls:
            message["tool_calls"] = [
                {"function": {"index": i, "name": c.name, "arguments": dict(c.arguments)}} for i, c in enumerate(reply.tool_calls)
            ]
        return {"model": request.model, "created_at": _now(), "message": message}

    def _done_stats(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        prompt = request.input_tokens()
        num_ctx = ((request.json or {}).get("options") or {}).get("num_ctx")
        if isinstance(num_ctx, int) and num_ctx > 0:
            prompt = min(prompt, num_ctx)  # Ollama silently truncates the prompt to the window
        text = "".join(reply.text_chunks(request))
        output = max(1, count_tokens(text) + sum(count_tokens(c.name + c.arguments_json()) for c in reply.tool_calls))
        # Ollama says "stop" even after a tool call; clients must look at the message.
        done_reason = _DONE_REASONS[reply.stop_reason] if reply.stop_reason else "stop"
        return {
            "done_reason": done_reason,
            "done": True,
            "total_duration": 1_000_000 * (prompt + output),
            "load_duration": 1_000_000,
            "prompt_eval_count": prompt,
            "prompt_eval_duration": 100_000 * prompt,
            "eval_count": output,
            "eval_duration": 1_000_000 * output,
        }

    def complete_body(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        pieces = reply.text_chunks(request)
        body = {**self._message(request, "".join(pieces), reply), **self._done_stats(reply, request)}
        top = asked_logprobs(request)
        if top is not None:  # Ollama 0.12.11 on: the tokens' log probabilities beside the message
            body["logprobs"] = [token_logprobs(piece, i, top) for i, piece in enumerate(pieces)]
        return body

    def stream_frames(self, reply: Reply, request: RecordedRequest) -> list[Frame]:
        top = asked_logprobs(request)

        def line(piece: str, position: int) -> dict[str, Any]:
            logprobs = {"logprobs": [token_logprobs(piece, position, top)]} if top is not None else {}
            return {**self._message(request, piece), **logprobs, "done": False}

        frames = [Frame(_line(line(piece, i)), content=True) for i, piece in enumerate(reply.text_chunks(request))]
        if reply.tool_calls:
            frames.append(Frame(_line({**self._message(request, "", reply), "done": False}), content=True))
        frames.append(Frame(_line({**self._message(request, ""), **self._done_stats(reply, request)}), terminator=True))
        return frames

    def malformed_frame(self) -> bytes:
        return b'{"model": "broken", "message": {"role": "assistant", "content": "\n'

    def stream_error_frame(self) -> bytes:
        return _line({"error": "an error was encountered while running the model: unexpected EOF"})

    # ------------------------------------------------------------ errors

    def error_response(self, error: HttpError, request: RecordedRequest) -> ErrorResponse:
        status, message = self._error_defaults(error, request)
        return ErrorResponse(status, json.dumps({"error": error.message or message}).encode(), {}, "application/json; charset=utf-8")

    def _error_defaults(self, error: HttpError, request: RecordedRequest) -> tuple[int, str]:
        model = request.model or ""
        defaults: dict[str, tuple[int, str]] = {
            "model_not_found": (404, f"model '{model}' not found, try pulling it first"),
            "tools_unsupported": (400, f"registry.ollama.ai/library/{model} does not support tools"),
            "overloaded": (503, "server busy, please try again.  maximum pending requests exceeded"),
            "rate_limited": (429, "too many requests"),
            "out_of_credit": (402, "payment required"),
            "invalid_api_key": (401, "unauthorized"),
            "context_too_long": (400, "the input length exceeds the context length"),
            "content_blocked": (400, "request blocked by content policy"),
            "prefill_rejected": (400, "the conversation must end with a user message"),
        }
        if error.kind is not None:
            status, message = defaults[error.kind]
            return error.status or status, message
        status = error.status or 500
        return status, "llama runner process has terminated: signal: killed" if status == 500 else f"HTTP {status}"
