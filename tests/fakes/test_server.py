"""The machinery every fake shares: lifecycle, recording, the script, and faults on the wire.

Exercised through FakeAnthropic / FakeOllama with plain httpx; provider formats are tested in
their own modules.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.fakes import (
    FakeAnthropic,
    FakeOllama,
    connection_reset,
    echo,
    hang,
    malformed_chunk,
    missing_terminator,
    overloaded,
    reply_text,
    slow_first_token,
    stream_cut,
    stream_error,
    stream_stall,
)

BODY = {"model": "claude-test", "max_tokens": 50, "messages": [{"role": "user", "content": "Hello there"}]}
STREAM = {**BODY, "stream": True}


def sse_events(raw: str) -> list[str]:
    return [line.removeprefix("event: ") for line in raw.splitlines() if line.startswith("event: ")]


def text_deltas(raw: str) -> list[str]:
    return [
        json.loads(line[6:])["delta"]["text"]
        for line in raw.splitlines()
        if line.startswith("data: ") and '"text_delta"' in line
    ]


# ---------------------------------------------------------------- lifecycle


def test_serves_on_a_free_local_port() -> None:
    with FakeAnthropic() as fake:
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.port > 0
        assert httpx.post(fake.messages_url, json=BODY).status_code == 200


def test_stopped_fake_refuses_connections_and_restarts_on_the_same_port() -> None:
    fake = FakeAnthropic().start()
    port = fake.port
    fake.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(fake.messages_url, json=BODY)
    fake.start()
    try:
        assert fake.port == port
        assert httpx.post(fake.messages_url, json=BODY).status_code == 200
        assert len(fake.requests) == 1
    finally:
        fake.stop()


def test_stop_ends_a_hanging_exchange_at_once() -> None:
    fake = FakeAnthropic().start()
    fake.enqueue(hang(30))
    errors: list[Exception] = []

    def call() -> None:
        try:
            httpx.post(fake.messages_url, json=BODY, timeout=20)
        except httpx.HTTPError as exc:
            errors.append(exc)

    client = threading.Thread(target=call)
    client.start()
    fake.wait_for_requests(1)
    started = time.monotonic()
    fake.stop()
    client.join(timeout=10)
    assert time.monotonic() - started < 5
    assert errors and isinstance(errors[0], httpx.RemoteProtocolError)


def test_fixtures_yield_started_fakes(fake_anthropic, fake_openai, fake_gemini, fake_ollama) -> None:  # type: ignore[no-untyped-def]
    assert fake_anthropic.messages_url.endswith(f":{fake_anthropic.port}/v1/messages")
    assert fake_openai.chat_completions_url.endswith("/v1/chat/completions")
    assert fake_gemini.chat_completions_url.endswith("/v1beta/openai/chat/completions")
    assert fake_ollama.api_chat_url.endswith("/api/chat")
    assert len({f.port for f in (fake_anthropic, fake_openai, fake_gemini, fake_ollama)}) == 4
    assert httpx.get(fake_ollama.url).text == "Ollama is running"


# ---------------------------------------------------------------- recording


def test_records_method_path_lowercase_headers_json_and_time(fake_anthropic: FakeAnthropic) -> None:
    before = time.monotonic()
    httpx.post(fake_anthropic.messages_url + "?beta=true", json=BODY, headers={"X-Api-Key": "sk-test", "Anthropic-Version": "2023-06-01"})
    request = fake_anthropic.last_request
    assert (request.method, request.path, request.query) == ("POST", "/v1/messages", "beta=true")
    assert request.headers["x-api-key"] == "sk-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.json == BODY
    assert request.model == "claude-test"
    assert before <= request.arrived_at <= time.monotonic()


def test_records_a_body_that_is_not_json(fake_anthropic: FakeAnthropic) -> None:
    httpx.post(fake_anthropic.messages_url, content=b"{not json")
    assert fake_anthropic.last_request.body == b"{not json"
    assert fake_anthropic.last_request.json is None


def test_requests_record_the_connection_they_came_on(fake_anthropic: FakeAnthropic) -> None:
    with httpx.Client() as one, httpx.Client() as other:
        one.post(fake_anthropic.messages_url, json=BODY)
        one.post(fake_anthropic.messages_url, json=BODY)
        other.post(fake_anthropic.messages_url, json=BODY)
    first, again, elsewhere = fake_anthropic.requests
    assert first.client_port == again.client_port != elsewhere.client_port


def test_reset_forgets_requests_and_queue_but_keeps_default(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.default = echo()
    fake_anthropic.enqueue(overloaded())
    httpx.post(fake_anthropic.messages_url, json=BODY)
    fake_anthropic.enqueue(overloaded())
    fake_anthropic.reset()
    assert fake_anthropic.requests == [] and fake_anthropic.pending == 0
    response = httpx.post(fake_anthropic.messages_url, json=BODY)
    assert response.json()["content"][0]["text"] == "Hello there"


def test_wait_for_requests_times_out_with_a_clear_error(fake_anthropic: FakeAnthropic) -> None:
    with pytest.raises(TimeoutError, match="got 0 requests, expected 1"):
        fake_anthropic.wait_for_requests(1, timeout=0.05)


# ---------------------------------------------------------------- script


def test_queue_is_consumed_in_order_then_the_default_answers(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(reply_text("one"), overloaded())
    fake_anthropic.default = reply_text("fallback")
    first, second, third = (httpx.post(fake_anthropic.messages_url, json=BODY) for _ in range(3))
    assert first.json()["content"][0]["text"] == "one"
    assert second.status_code == 529
    assert third.json()["content"][0]["text"] == "fallback"


def test_times_repeats_a_behaviour(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(overloaded(), times=2)
    statuses = [httpx.post(fake_anthropic.messages_url, json=BODY).status_code for _ in range(3)]
    assert statuses == [529, 529, 200]


def test_when_predicate_reserves_a_behaviour_for_matching_requests(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(overloaded(), when=lambda r: r.model == "claude-big")
    assert httpx.post(fake_anthropic.messages_url, json=BODY).status_code == 200
    assert httpx.post(fake_anthropic.messages_url, json={**BODY, "model": "claude-big"}).status_code == 529
    assert fake_anthropic.pending == 0


def test_echo_answers_with_the_last_user_text(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.default = echo()
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second question"}]},
    ]
    response = httpx.post(fake_anthropic.messages_url, json={**BODY, "messages": messages})
    assert response.json()["content"][0]["text"] == "second question"


def test_echo_with_a_custom_render(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.default = echo(lambda r: f"{len(r.messages)} messages")
    response = httpx.post(fake_anthropic.messages_url, json=BODY)
    assert response.json()["content"][0]["text"] == "1 messages"


def test_chunks_must_join_to_the_text() -> None:
    with pytest.raises(ValueError):
        reply_text("Hello", chunks=["Hel", "p"])


# ---------------------------------------------------------------- faults on the wire


def test_connection_reset_before_any_header(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(connection_reset())
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.post(fake_anthropic.messages_url, json=BODY)


def test_hang_sends_nothing_until_the_client_gives_up(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(hang(10))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(fake_anthropic.messages_url, json=BODY, timeout=0.3)
    assert time.monotonic() - started < 2


def test_hang_is_bounded(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(hang(0.2))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(fake_anthropic.messages_url, json=BODY, timeout=5)


@pytest.mark.parametrize("body", [BODY, STREAM], ids=["complete", "stream"])
def test_hang_after_headers_sends_the_status_and_headers_then_nothing(fake_anthropic: FakeAnthropic, body: dict) -> None:
    fake_anthropic.enqueue(hang(10, after_headers=True))
    with httpx.Client(timeout=httpx.Timeout(5, read=0.3)) as client, client.stream("POST", fake_anthropic.messages_url, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream" if body.get("stream") else "application/json")
        with pytest.raises(httpx.ReadTimeout):
            response.read()


def test_a_client_that_hangs_up_early_is_recorded_as_abandoned(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(hang(10))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(fake_anthropic.messages_url, json=BODY, timeout=0.2)
    assert httpx.post(fake_anthropic.messages_url, json=BODY).status_code == 200
    abandoned = fake_anthropic.wait_for_abandoned(1)
    assert abandoned == fake_anthropic.requests[:1], "a finished answer is not abandoned"


def test_slow_first_token_delays_the_first_chunk_not_the_headers(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(slow_first_token(0.4, text="Hi there"))
    started = time.monotonic()
    with httpx.stream("POST", fake_anthropic.messages_url, json=STREAM) as response:
        headers_at = time.monotonic() - started
        raw = response.read().decode()
    total = time.monotonic() - started
    assert headers_at < 0.3
    assert total >= 0.4
    assert text_deltas(raw) == ["Hi ", "there"]


def test_chunk_delay_paces_the_stream(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(reply_text("a b c", chunks=["a ", "b ", "c"], chunk_delay=0.15))
    arrivals: list[float] = []
    with httpx.stream("POST", fake_anthropic.messages_url, json=STREAM) as response:
        for line in response.iter_lines():
            if '"text_delta"' in line:
                arrivals.append(time.monotonic())
    assert len(arrivals) == 3
    assert arrivals[2] - arrivals[0] >= 0.25


def test_slow_non_streaming_answer_takes_the_generation_time(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(slow_first_token(0.3))
    started = time.monotonic()
    assert httpx.post(fake_anthropic.messages_url, json=BODY).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_stream_cut_closes_mid_body_after_n_chunks(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(stream_cut(after=2, text="one two three four"))
    lines: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("POST", fake_anthropic.messages_url, json=STREAM) as response:
            lines.extend(response.iter_lines())
    assert text_deltas("\n".join(lines)) == ["one ", "two "]
    assert "message_stop" not in sse_events("\n".join(lines))


def test_stream_cut_after_zero_sends_only_the_preamble(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(stream_cut(after=0))
    lines: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("POST", fake_anthropic.messages_url, json=STREAM) as response:
            lines.extend(response.iter_lines())
    assert sse_events("\n".join(lines)) == ["message_start", "content_block_start", "ping"]


def test_stream_reset_after_zero_sends_the_status_then_a_reset(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(reply_text().reset_after(0))
    with httpx.stream("POST", fake_anthropic.messages_url, json=STREAM) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.ReadError):
            response.read()


def test_stream_stall_goes_silent_with_the_socket_open(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(stream_stall(after=1, hold=5, text="one two"))
    lines: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        with httpx.stream("POST", fake_anthropic.messages_url, json=STREAM, timeout=httpx.Timeout(5, read=0.3)) as response:
            lines.extend(response.iter_lines())
    assert text_deltas("\n".join(lines)) == ["one "]


def test_stream_stall_closes_the_socket_after_the_hold(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(stream_stall(after=1, hold=0.2))
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("POST", fake_anthropic.messages_url, json=STREAM, timeout=5) as response:
            response.read()


def test_malformed_chunk_is_invalid_json_and_the_stream_carries_on(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(malformed_chunk(after=1, text="one two"))
    raw = httpx.post(fake_anthropic.messages_url, json=STREAM).text
    data = [line[6:] for line in raw.splitlines() if line.startswith("data: ")]
    broken = [d for d in data if not _parses(d)]
    assert len(broken) == 1
    assert text_deltas("\n".join(line for line in raw.splitlines() if line not in broken_lines(raw))) == ["one ", "two"]
    assert sse_events(raw)[-1] == "message_stop"


def broken_lines(raw: str) -> set[str]:
    return {line for line in raw.splitlines() if line.startswith("data: ") and not _parses(line[6:])}


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_malformed_non_streaming_body(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(malformed_chunk())
    response = httpx.post(fake_anthropic.messages_url, json=BODY)
    assert response.status_code == 200
    assert not _parses(response.text)


def test_cut_non_streaming_body_is_shorter_than_promised(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(stream_cut())
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(fake_anthropic.messages_url, json=BODY)


def test_missing_terminator_ends_cleanly_without_message_stop(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(missing_terminator(text="all of it"))
    raw = httpx.post(fake_anthropic.messages_url, json=STREAM).text
    assert text_deltas(raw) == ["all ", "of ", "it"]
    assert "message_stop" not in sse_events(raw)
    assert sse_events(raw)[-1] == "message_delta"


def test_stream_error_event_after_n_chunks(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(stream_error(after=1, text="one two"))
    raw = httpx.post(fake_anthropic.messages_url, json=STREAM).text
    assert text_deltas(raw) == ["one "]
    assert sse_events(raw)[-1] == "error"
    assert '"overloaded_error"' in raw.strip().splitlines()[-1]


def test_stream_error_without_a_stream_is_the_overloaded_status(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(stream_error())
    assert httpx.post(fake_anthropic.messages_url, json=BODY).status_code == 529


def test_faults_apply_to_ndjson_streams_too(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(stream_cut(after=1, text="one two"))
    lines: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("POST", fake_ollama.api_chat_url, json={"model": "llama3.1:8b", "messages": []}) as response:
            lines.extend(response.iter_lines())
    assert [json.loads(line)["message"]["content"] for line in lines] == ["one "]


async def test_usable_from_async_tests(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(reply_text("Hi there", chunk_delay=0.01))
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", fake_ollama.api_chat_url, json={"model": "llama3.1:8b", "messages": []}) as response:
            lines = [json.loads(line) async for line in response.aiter_lines() if line]
    assert "".join(line["message"]["content"] for line in lines) == "Hi there"


def test_client_leaving_mid_stream_does_not_break_the_fake(fake_anthropic: FakeAnthropic, caplog: pytest.LogCaptureFixture) -> None:
    fake_anthropic.enqueue(reply_text("one two three", chunk_delay=0.1))
    with httpx.stream("POST", fake_anthropic.messages_url, json=STREAM) as response:
        next(response.iter_lines())
    time.sleep(0.3)  # let the abandoned exchange reach its next write
    assert httpx.post(fake_anthropic.messages_url, json=BODY).status_code == 200
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
