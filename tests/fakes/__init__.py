"""Fake upstream providers: real HTTP servers on 127.0.0.1 speaking each provider's wire format.

    fake = FakeAnthropic().start()
    fake.enqueue(reply_text("Hello", chunks=["Hel", "lo"]), overloaded())
    fake.default = echo()
    ...
    fake.requests[-1].json["messages"]
    fake.stop()

Pytest fixtures (``fake_anthropic``, ``fake_openai``, ``fake_gemini``, ``fake_ollama``) live in
``tests.fakes.fixtures``; ``python -m tests.fakes <provider>`` runs one as its own process.
"""

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.behaviours import (
    DEFAULT_TEXT,
    Behaviour,
    ConnectionReset,
    Hang,
    HttpError,
    Reply,
    StreamFault,
    ToolCall,
    connection_reset,
    content_blocked,
    context_too_long,
    echo,
    hang,
    http_error,
    invalid_api_key,
    malformed_chunk,
    missing_terminator,
    model_not_found,
    out_of_credit,
    overloaded,
    rate_limited,
    reply_text,
    reply_tool_calls,
    server_error,
    slow_first_token,
    stream_cut,
    stream_error,
    stream_stall,
    tool_call,
)
from tests.fakes.ollama import FakeOllama, OllamaModel
from tests.fakes.openai import FakeGemini, FakeOpenAI
from tests.fakes.recording import RecordedRequest, count_tokens
from tests.fakes.server import FakeServer

__all__ = [
    "DEFAULT_TEXT",
    "Behaviour",
    "ConnectionReset",
    "FakeAnthropic",
    "FakeGemini",
    "FakeOllama",
    "FakeOpenAI",
    "FakeServer",
    "Hang",
    "HttpError",
    "OllamaModel",
    "RecordedRequest",
    "Reply",
    "StreamFault",
    "ToolCall",
    "connection_reset",
    "content_blocked",
    "context_too_long",
    "count_tokens",
    "echo",
    "hang",
    "http_error",
    "invalid_api_key",
    "malformed_chunk",
    "missing_terminator",
    "model_not_found",
    "out_of_credit",
    "overloaded",
    "rate_limited",
    "reply_text",
    "reply_tool_calls",
    "server_error",
    "slow_first_token",
    "stream_cut",
    "stream_error",
    "stream_stall",
    "tool_call",
]
