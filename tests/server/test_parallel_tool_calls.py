"""Parallel tool calls from an OpenAI-compatible upstream that interleaves their deltas
(index 0, 1, 0, 1…) reach an Anthropic client whole and in order. Before, the stream failed with
"the upstream stream broke inside a tool call"."""

from __future__ import annotations

import anthropic
import pytest

from tests.client_tools import WEATHER_TOOL_ANTHROPIC
from tests.fakes.behaviours import reply_tool_calls, tool_call


@pytest.mark.parametrize("interleaved", [True, False], ids=["interleaved", "one-after-another"])
def test_an_anthropic_stream_gets_every_parallel_call(fake_openai, make_trooper, interleaved):
    fake_openai.interleaves_tool_calls = interleaved
    fake_openai.default = reply_tool_calls(
        tool_call("get_weather", {"city": "Paris", "unit": "celsius"}, id="call_a",
                  fragments=['{"city": ', '"Paris", ', '"unit": "celsius"}']),
        tool_call("get_weather", {"city": "Oslo", "unit": "celsius"}, id="call_b",
                  fragments=['{"city": ', '"Oslo", ', '"unit": "celsius"}']),
        text="Checking both.",
    )
    server = make_trooper(OPENAI_API_KEY="sk-test-openai-0123456789abcdef", OPENAI_URL=fake_openai.chat_completions_url)
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        with client.messages.stream(
            model="gpt-4o-mini", max_tokens=200, tools=[WEATHER_TOOL_ANTHROPIC],
            messages=[{"role": "user", "content": "weather in Paris and Oslo?"}],
            extra_headers={"X-Trooper-Route": "cloud"},
        ) as stream:
            message = stream.get_final_message()
    calls = [(b.id, b.input) for b in message.content if b.type == "tool_use"]
    assert calls == [("call_a", {"city": "Paris", "unit": "celsius"}), ("call_b", {"city": "Oslo", "unit": "celsius"})]
    assert message.stop_reason == "tool_use"
