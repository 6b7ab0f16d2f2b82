"""The upstream matrix of the compatibility suites, and what an upstream received, read the same
way whichever wire format it speaks.

How a route is forced: each upstream kind runs behind a Trooper of its own (one per suite module)
on which it is the only provider configured — a cloud provider by its key and the fake's URL
(the local tier left at a dead address), or the fake Ollama as ``FALLBACK_URL`` with no cloud at
all — and every client sends ``X-Trooper-Route`` (``cloud``, or ``local`` for Ollama), so neither
the classifier nor a fallback can hand a turn to anyone but that fake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Literal, Sequence

import anthropic
import openai
import pytest

from tests.fakes import FakeAnthropic, FakeGemini, FakeOllama, FakeOpenAI, FakeServer, OllamaModel, RecordedRequest
from tests.fakes.openai_responses import PATH as RESPONSES_PATH
from tests.fakes.recording import content_text
from tests.harness import TrooperThread, settings_from

UpstreamKind = Literal["claude", "openai", "gemini", "ollama"]
UPSTREAM_KINDS: tuple[UpstreamKind, ...] = ("claude", "openai", "gemini", "ollama")
#: How a call reached its upstream: ``responses`` is OpenAI's Responses API, which Trooper uses for
#: OpenAI's turns offering built-in tools or keeping OpenAI's reasoning (every other OpenAI turn
#: goes by Chat Completions, ``openai``).
Wire = Literal["anthropic", "openai", "responses", "ollama"]

#: The model each provider is configured with: what it is sent when the client names another
#: provider's model. Gemini 3 signs its tool calls and refuses them back unsigned, as the real API does.
CONFIGURED_MODELS: dict[UpstreamKind, str] = {
    "claude": "claude-haiku-4-5-20251001",
    "openai": "gpt-4o-mini",
    "gemini": "gemini-3-flash-preview",
    "ollama": "qwen3-vl:8b",
}
#: The local model: it calls tools and sees images, so images and tools reach it as they are.
LOCAL_MODEL = OllamaModel(CONFIGURED_MODELS["ollama"], capabilities=("completion", "vision", "tools", "thinking"), architecture="qwen3vl")
#: Model names each provider takes as asked (Trooper's ``*_MODEL_PREFIXES``); Ollama takes none.
OWN_MODEL_PREFIXES: dict[UpstreamKind, tuple[str, ...]] = {
    "claude": ("claude-",),
    "openai": ("gpt-", "chatgpt-", "o1", "o3", "o4"),
    "gemini": ("gemini-",),
    "ollama": (),
}
CLOUD_KEYS: dict[UpstreamKind, tuple[str, str]] = {
    "claude": ("CLAUDE_API_KEY", "sk-ant-compat-0123456789abcdef"),
    "openai": ("OPENAI_API_KEY", "sk-compat-openai-0123456789abcdef"),
    "gemini": ("GEMINI_API_KEY", "AIza-compat-0123456789abcdef"),
}
#: Each test so marked runs once created (``stream`` False) and once streamed.
CREATE_AND_STREAM = pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])


def _fake_for(kind: UpstreamKind) -> FakeServer:
    if kind == "claude":
        return FakeAnthropic()
    if kind == "openai":
        return FakeOpenAI()
    if kind == "gemini":
        return FakeGemini(models=[CONFIGURED_MODELS["gemini"]])
    return FakeOllama(models=[LOCAL_MODEL])


def _env_for(kind: UpstreamKind, fake: Any) -> dict[str, str]:
    """Trooper's environment with ``fake`` as its only provider."""
    models = {"claude": "CLAUDE_MODEL", "openai": "OPENAI_MODEL", "gemini": "GEMINI_MODEL", "ollama": "OLLAMA_MODEL"}
    env = {models[kind]: CONFIGURED_MODELS[kind]}
    if kind == "ollama":
        return {**env, "FALLBACK_URL": fake.api_chat_url}
    key_name, key = CLOUD_KEYS[kind]
    url = fake.messages_url if kind == "claude" else fake.chat_completions_url
    return {**env, key_name: key, f"{kind.upper()}_URL": url}


# ---------------------------------------------------------------- the matrix


@dataclass
class Upstream:
    """One upstream kind: its fake, and the Trooper that can reach only that fake."""

    kind: UpstreamKind
    fake: Any  # the kind's FakeServer subclass: FakeAnthropic, FakeOpenAI, FakeGemini or FakeOllama
    trooper: TrooperThread

    @property
    def wire(self) -> Wire:
        return "anthropic" if self.kind == "claude" else "ollama" if self.kind == "ollama" else "openai"

    @property
    def route(self) -> dict[str, str]:
        return {"X-Trooper-Route": "local" if self.kind == "ollama" else "cloud"}

    def model_for(self, requested: str) -> str:
        """The model this provider is sent for a client's ``requested`` one: the same name when it
        is the provider's own, else the configured model (a Claude name never reaches OpenAI)."""
        own = OWN_MODEL_PREFIXES[self.kind]
        return requested if own and requested.startswith(own) else CONFIGURED_MODELS[self.kind]

    def anthropic_client(self, **headers: str) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=self.trooper.url, api_key="local", max_retries=0, _strict_response_validation=True,
            default_headers={**self.route, **headers},
        )

    def openai_client(self, **headers: str) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.trooper.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True,
            default_headers={**self.route, **headers},
        )

    def received(self) -> list[Received]:
        """Every model call the fake answered, oldest first (not Ollama's model look-ups, nor counts)."""
        paths = ("/v1/messages", FakeOpenAI.chat_path, FakeGemini.chat_path, "/api/chat")
        return [
            Received("responses" if r.path == RESPONSES_PATH else self.wire, r)
            for r in self.fake.requests if r.path in (*paths, RESPONSES_PATH)
        ]

    @property
    def last_received(self) -> Received:
        calls = self.received()
        assert calls, f"fake {self.kind} answered no model call"
        return calls[-1]


def start_upstream(kind: UpstreamKind) -> Iterator[Upstream]:
    """The fake and its Trooper, running until the generator is closed (a fixture's body)."""
    with _fake_for(kind) as fake:
        trooper = TrooperThread(settings_from(_env_for(kind, fake))).start()
        try:
            yield Upstream(kind, fake, trooper)
        finally:
            trooper.stop()


# ---------------------------------------------------------------- what an upstream received


@dataclass(frozen=True)
class SentCall:
    """A tool call in the history an upstream received. Ollama's calls carry no id."""

    id: str | None
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class SentResult:
    """A tool result an upstream received, linked to its call as its wire links them: by the
    call's id, or (Ollama) by the tool's name."""

    link: str | None
    text: str


class Received:
    """One model call a fake received, read in provider-neutral terms."""

    def __init__(self, wire: Wire, request: RecordedRequest) -> None:
        self.wire = wire
        self.request = request
        self.body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}

    @property
    def model(self) -> str | None:
        return self.request.model

    @property
    def headers(self) -> dict[str, str]:
        return self.request.headers

    def text(self) -> str:
        """The whole body as text, for "this never reached the upstream" checks."""
        return json.dumps(self.body, ensure_ascii=False)

    @property
    def system_text(self) -> str | None:
        if self.wire == "responses":
            return self.body.get("instructions")
        if self.wire == "anthropic":
            system = self.body.get("system")
            return "\n\n".join(b["text"] for b in system) if isinstance(system, list) else system
        texts = [content_text(m.get("content")) for m in self.body.get("messages", []) if m.get("role") == "system"]
        return "\n\n".join(texts) if texts else None

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """The messages after the system prompt (a Responses API call's input items)."""
        if self.wire == "responses":
            return list(self.body.get("input", []))
        return [m for m in self.body.get("messages", []) if m.get("role") != "system"]

    def user_texts(self) -> list[str]:
        """The text of every user turn's text parts, one entry per part (tool results aside)."""
        texts = []
        for message in self.conversation:
            if message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                texts.append(content)
            else:
                texts += [part["text"] for part in content or [] if part.get("type") in ("text", "input_text")]
        return texts

    def as_sent(self, *texts: str) -> list[str]:
        """The text blocks of one user turn as this wire carries them (``user_texts``): each its
        own part, but in Ollama's one content string, joined by newlines."""
        return ["\n".join(texts)] if self.wire == "ollama" else list(texts)

    def tools(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The tools offered, as (name, description, JSON schema)."""
        if self.wire == "anthropic":
            return [(t["name"], t.get("description", ""), t["input_schema"]) for t in self.body.get("tools", [])]
        if self.wire == "responses":
            return [(t["name"], t.get("description", ""), t["parameters"]) for t in self.body.get("tools", []) if t.get("type") == "function"]
        return [
            (t["function"]["name"], t["function"].get("description", ""), t["function"]["parameters"])
            for t in self.body.get("tools", [])
        ]

    def tool_calls(self) -> list[SentCall]:
        """Every assistant tool call in the history, in order."""
        if self.wire == "responses":  # a custom tool's call as its function's: its input the "input" argument
            return [
                SentCall(i["call_id"], i["name"], json.loads(i["arguments"]) if i["type"] == "function_call" else {"input": i["input"]})
                for i in self.conversation if i.get("type") in ("function_call", "custom_tool_call")
            ]  # fmt: skip
        calls = []
        for message in self.conversation:
            if message.get("role") != "assistant":
                continue
            if self.wire == "anthropic":
                calls += [SentCall(b["id"], b["name"], b["input"]) for b in message["content"] if b.get("type") == "tool_use"]
            else:
                for call in message.get("tool_calls") or []:
                    arguments = call["function"]["arguments"]
                    parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
                    calls.append(SentCall(call.get("id"), call["function"]["name"], parsed))
        return calls

    def tool_results(self) -> list[SentResult]:
        """Every tool result in the history, in order."""
        if self.wire == "responses":
            outputs = ("function_call_output", "custom_tool_call_output")
            return [SentResult(i["call_id"], content_text(i["output"])) for i in self.conversation if i.get("type") in outputs]
        if self.wire == "anthropic":
            return [
                SentResult(block["tool_use_id"], content_text(block.get("content")))
                for message in self.conversation if isinstance(message.get("content"), list)
                for block in message["content"] if block.get("type") == "tool_result"
            ]
        link = "tool_name" if self.wire == "ollama" else "tool_call_id"
        return [SentResult(m.get(link), content_text(m.get("content"))) for m in self.conversation if m.get("role") == "tool"]

    def images(self) -> list[str]:
        """The base64 data of every image in the user turns."""
        data = []
        for message in self.conversation:
            if self.wire == "ollama":
                data += message.get("images") or []
                continue
            content = message.get("content")
            for part in content if isinstance(content, list) else []:
                if part.get("type") == "image":
                    data.append(part["source"]["data"])
                elif part.get("type") == "image_url":
                    data.append(part["image_url"]["url"].partition("base64,")[2])
                elif part.get("type") == "input_image":
                    data.append(part["image_url"].partition("base64,")[2])
        return data

    @property
    def max_tokens(self) -> int | None:
        if self.wire == "ollama":
            return (self.body.get("options") or {}).get("num_predict")
        return self.body.get("max_tokens") or self.body.get("max_completion_tokens") or self.body.get("max_output_tokens")


# ---------------------------------------------------------------- shared assertions


def assert_tool_history(received: Received, calls: Sequence[SentCall], results: Sequence[tuple[str, str]]) -> None:
    """``received`` carries ``calls`` and ``results`` ((call id, text)) whole and in order, each
    result linked to its call the way the upstream's wire links them."""
    ollama = received.wire == "ollama"
    assert received.tool_calls() == [SentCall(None if ollama else c.id, c.name, c.arguments) for c in calls]
    names = {c.id: c.name for c in calls}
    assert received.tool_results() == [SentResult(names[call_id] if ollama else call_id, text) for call_id, text in results]


def assert_nothing_of(received: Received, *opaque: str) -> None:
    """None of ``opaque`` (thinking signatures, redacted thinking) is anywhere in the request."""
    sent = received.text()
    for value in opaque:
        assert value not in sent, f"{value[:24]}… reached {received.wire}"
