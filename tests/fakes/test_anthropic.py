"""FakeAnthropic speaks the Messages API well enough for the official SDK in strict mode."""

from __future__ import annotations

from typing import Iterator

import anthropic
import httpx
import pytest

from tests.fakes import (
    FakeAnthropic,
    content_blocked,
    context_too_long,
    echo,
    http_error,
    invalid_api_key,
    model_not_found,
    out_of_credit,
    overloaded,
    rate_limited,
    reply_text,
    reply_tool_calls,
    stream_error,
    tool_call,
)

MODEL = "claude-haiku-4-5-20251001"
USER = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture
def client(fake_anthropic: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    sdk = anthropic.Anthropic(api_key="sk-ant-test", base_url=fake_anthropic.url, max_retries=0, _strict_response_validation=True)
    yield sdk
    sdk.close()


def test_sdk_reads_a_text_message(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.enqueue(reply_text("Sunny and mild."))
    message = client.messages.create(model=MODEL, max_tokens=100, messages=USER)
    assert message.content[0].type == "text" and message.content[0].text == "Sunny and mild."
    assert message.id.startswith("msg_01")
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 7  # What is the weather in Paris ?
    assert message.usage.output_tokens == 4  # Sunny and mild .


def test_sdk_sends_what_the_fake_records(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    client.messages.create(model=MODEL, max_tokens=100, messages=USER, system="Be brief.")
    request = fake_anthropic.last_request
    assert request.api_key == "sk-ant-test"
    assert "anthropic-version" in request.headers
    assert request.json["system"] == "Be brief."
    assert request.json["messages"] == USER


def test_sdk_streams_the_given_chunks(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.enqueue(reply_text("Hello", chunks=["Hel", "lo"]))
    with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["Hel", "lo"]
    assert final.content[0].text == "Hello"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 1


def test_thinking_comes_first_and_signed_streamed_or_not(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.default = reply_text("It is mild.", thinking="Paris in spring is mild.")
    whole = client.messages.create(model=MODEL, max_tokens=100, messages=USER)
    with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        streamed = stream.get_final_message()
    for message in (whole, streamed):
        thinking, text = message.content
        assert thinking.type == "thinking" and thinking.thinking == "Paris in spring is mild." and thinking.signature.startswith("sig_")
        assert text.type == "text" and text.text == "It is mild."
    assert whole.usage.output_tokens == 6 + 4, "thinking counts in the output tokens"


def test_sdk_reads_parallel_tool_calls(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.enqueue(
        reply_tool_calls(tool_call("get_weather", {"city": "Paris"}), tool_call("get_time", {"tz": "CET"}), text="Checking.")
    )
    message = client.messages.create(model=MODEL, max_tokens=100, messages=USER)
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[1].input == {"city": "Paris"}  # type: ignore[union-attr]
    assert message.content[2].name == "get_time"  # type: ignore[union-attr]
    assert message.content[1].id.startswith("toolu_")  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"


def test_streamed_tool_call_arguments_arrive_in_fragments(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    call = tool_call("get_weather", {"city": "Paris"}, fragments=['{"city"', ': "Par', 'is"}'])
    fake_anthropic.enqueue(reply_tool_calls(call, tool_call("get_time", {"tz": "CET"})))
    with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        partials = [e.partial_json for e in stream if e.type == "input_json"]
        final = stream.get_final_message()
    assert partials[:3] == ['{"city"', ': "Par', 'is"}']
    assert [b.input for b in final.content] == [{"city": "Paris"}, {"tz": "CET"}]  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"


def test_raw_stream_has_the_documented_event_order(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(reply_text("Hi", chunks=["H", "i"]))
    raw = httpx.post(fake_anthropic.messages_url, json={"model": MODEL, "max_tokens": 9, "messages": USER, "stream": True})
    assert raw.headers["content-type"] == "text/event-stream"
    assert raw.headers["request-id"].startswith("req_")
    events = [line[7:] for line in raw.text.splitlines() if line.startswith("event: ")]
    assert events == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_echo_reflects_a_tool_result(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.default = echo()
    messages = [
        *USER,
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C, clear"}]},
    ]
    message = client.messages.create(model=MODEL, max_tokens=100, messages=messages)  # type: ignore[arg-type]
    assert message.content[0].text == "18C, clear"  # type: ignore[union-attr]


def test_a_tool_result_answering_no_tool_use_is_claude_s_400(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    orphan = [*USER, {"role": "assistant", "content": "Looking."},
              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_ls", "content": "README.md"}]}]  # fmt: skip
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(model=MODEL, max_tokens=100, messages=orphan)  # type: ignore[arg-type]
    assert refused.value.body["error"] == {  # type: ignore[index]
        "type": "invalid_request_error",
        "message": "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: call_ls. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
    }


def test_count_tokens(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model=MODEL, messages=USER)
    assert counted.input_tokens == 7
    assert fake_anthropic.last_request.path == "/v1/messages/count_tokens"


def test_in_stream_overloaded_error_reaches_the_sdk(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.enqueue(stream_error(after=1, text="one two"))
    received: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
            received.extend(stream.text_stream)
    assert received == ["one "]
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


@pytest.mark.parametrize(
    ("behaviour", "exception", "status", "error_type", "message_part"),
    [
        (overloaded(), anthropic.OverloadedError, 529, "overloaded_error", "Overloaded"),
        (rate_limited(), anthropic.RateLimitError, 429, "rate_limit_error", "rate limit"),
        (out_of_credit(), anthropic.BadRequestError, 400, "invalid_request_error", "Your credit balance is too low"),
        (invalid_api_key(), anthropic.AuthenticationError, 401, "authentication_error", "invalid x-api-key"),
        (context_too_long(), anthropic.BadRequestError, 400, "invalid_request_error", "prompt is too long"),
        (content_blocked(), anthropic.BadRequestError, 400, "invalid_request_error", "content filtering"),
        (model_not_found(), anthropic.NotFoundError, 404, "not_found_error", f"model: {MODEL}"),
    ],
)
def test_errors_have_the_real_status_and_shape(
    fake_anthropic: FakeAnthropic,
    client: anthropic.Anthropic,
    behaviour: object,
    exception: type[anthropic.APIStatusError],
    status: int,
    error_type: str,
    message_part: str,
) -> None:
    fake_anthropic.enqueue(behaviour)  # type: ignore[arg-type]
    with pytest.raises(exception) as caught:
        client.messages.create(model=MODEL, max_tokens=100, messages=USER)
    error = caught.value
    assert error.status_code == status
    assert error.body["type"] == "error"  # type: ignore[index]
    assert error.body["error"]["type"] == error_type  # type: ignore[index]
    assert message_part in error.body["error"]["message"]  # type: ignore[index]
    assert error.request_id and error.request_id.startswith("req_")


def test_rate_limit_headers(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(rate_limited(retry_after=7), rate_limited())
    first = httpx.post(fake_anthropic.messages_url, json={"model": MODEL, "messages": USER})
    second = httpx.post(fake_anthropic.messages_url, json={"model": MODEL, "messages": USER})
    assert first.headers["retry-after"] == "7"
    assert first.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert "retry-after" not in second.headers


def test_configured_api_key_rejects_any_other() -> None:
    with FakeAnthropic(api_key="sk-ant-right") as fake:
        wrong = anthropic.Anthropic(api_key="sk-ant-wrong", base_url=fake.url, max_retries=0)
        with pytest.raises(anthropic.AuthenticationError):
            wrong.messages.create(model=MODEL, max_tokens=10, messages=USER)
        right = anthropic.Anthropic(api_key="sk-ant-right", base_url=fake.url, max_retries=0)
        assert right.messages.create(model=MODEL, max_tokens=10, messages=USER).content


def test_rejects_prefill_without_consuming_the_script() -> None:
    with FakeAnthropic(rejects_prefill=True) as fake:
        fake.enqueue(reply_text("scripted"))
        prefill = [*USER, {"role": "assistant", "content": "The weather is"}]
        rejected = httpx.post(fake.messages_url, json={"model": MODEL, "max_tokens": 10, "messages": prefill})
        assert rejected.status_code == 400
        assert rejected.json()["error"]["message"].startswith("This model does not support assistant message prefill.")
        accepted = httpx.post(fake.messages_url, json={"model": MODEL, "max_tokens": 10, "messages": USER})
        assert accepted.json()["content"][0]["text"] == "scripted"


def test_verbatim_error_body(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(http_error(502, body="<html>Bad gateway</html>", headers={"content-type": "text/html"}))
    response = httpx.post(fake_anthropic.messages_url, json={"model": MODEL, "messages": USER})
    assert response.status_code == 502
    assert response.text == "<html>Bad gateway</html>"
    assert response.headers["content-type"] == "text/html"
