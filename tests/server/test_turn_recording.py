"""What a proxied turn leaves in its session: the caller's question, then the answer, recorded
once the answer has gone out (a stream's question as soon as its first event is out); a failed
turn keeps its question; the saved-tokens header counts the turn it comes with, and only when a
cloud is configured that would otherwise have answered."""

from __future__ import annotations

import anthropic
import httpx
import openai

from tests.fakes.behaviours import reply_text, server_error
from trooper.conversation import Response, TextBlock, Usage
from trooper.engine.savings import tokens_saved_by
from trooper.notebook.client import ChatClient
from trooper.notebook.connection import Server

QUESTION = "how many days in a week"
CLAUDE_KEY = "sk-ant-test-0123456789abcdef"


def anthropic_client(server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True)


def transcript(server, session_id: str) -> list[tuple[str, str]]:
    turns = httpx.get(f"{server.url}/sessions/{session_id}/transcript", trust_env=False).json()["turns"]
    return [(t["role"], "".join(b.get("text", "") for b in t["content"])) for t in turns]


def test_question_then_answer_and_the_saved_header_counts_the_turn_it_answers(fake_ollama, fake_anthropic, make_trooper):
    fake_ollama.default = reply_text("Seven.")
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    messages = [{"role": "user", "content": QUESTION}]
    saved = 0
    with anthropic_client(server) as client:
        for follow_up in ("and in a fortnight", "and in a leap year"):
            raw = client.messages.with_raw_response.create(
                model="claude-haiku-4-5", max_tokens=50, messages=messages,
                extra_headers={"X-Session-ID": "book", "X-Trooper-Route": "local"},
            )
            message = raw.parse()
            saved += message.usage.input_tokens + message.usage.output_tokens
            assert raw.headers["X-Trooper-Provider"] == "ollama"
            assert raw.headers["X-Trooper-Session-Saved"] == f"{saved} tokens"
            messages += [{"role": "assistant", "content": "Seven."}, {"role": "user", "content": follow_up}]
    summary = httpx.get(f"{server.url}/sessions/book", trust_env=False).json()
    assert summary["tokens_saved"] == saved
    assert transcript(server, "book") == [
        ("user", QUESTION), ("assistant", "Seven."), ("user", "and in a fortnight"), ("assistant", "Seven."),
    ]  # fmt: skip


def test_a_failed_turn_keeps_its_question(fake_anthropic, make_trooper):
    fake_anthropic.default = server_error(500)
    server = make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url)
    with anthropic_client(server) as client:
        try:
            client.messages.create(
                model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "explain the outage"}],
                extra_headers={"X-Session-ID": "failed"},
            )
        except anthropic.APIStatusError as exc:
            assert exc.status_code >= 500
        else:
            raise AssertionError("the upstream failed: the caller must see an error")
    assert transcript(server, "failed") == [("user", "explain the outage")]


def test_a_stream_shows_its_question_while_the_answer_streams(fake_ollama, make_trooper):
    fake_ollama.default = reply_text("one two three four five six seven eight", chunk_delay=0.1)
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    with anthropic_client(server) as client:
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": QUESTION}],
            extra_headers={"X-Session-ID": "streaming"},
        ) as stream:
            next(iter(stream.text_stream))
            assert transcript(server, "streaming") == [("user", QUESTION)]
            answer = stream.get_final_text()
    assert transcript(server, "streaming") == [("user", QUESTION), ("assistant", answer)]


def test_without_a_cloud_a_local_answer_saves_nothing(fake_ollama, make_trooper):
    fake_ollama.default = reply_text("Seven.")
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    with anthropic_client(server) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": QUESTION}],
            extra_headers={"X-Session-ID": "local-only"},
        )
    assert raw.parse().usage.output_tokens > 0 and raw.headers["X-Trooper-Provider"] == "ollama"
    assert "X-Trooper-Session-Saved" not in raw.headers
    assert httpx.get(f"{server.url}/sessions/local-only", trust_env=False).json()["tokens_saved"] == 0


def test_the_saved_tokens_rule():
    answer = Response(id="m", model="m", content=[TextBlock("Seven.")], usage=Usage(input_tokens=12, output_tokens=3))
    assert tokens_saved_by(answer, "local", cloud_configured=True) == 15
    assert tokens_saved_by(answer, "local", cloud_configured=False) == 0, "nothing to save from"
    assert tokens_saved_by(answer, "cloud", cloud_configured=True) == 0, "the cloud answered: it was spent"


def test_an_answer_cut_at_the_token_limit_is_recorded_as_such(fake_ollama, make_trooper):
    """OpenAI's ``finish_reason: length`` and Anthropic's ``stop_reason: max_tokens`` are one
    canonical stop reason, kept with the answer for the pages to mark."""
    fake_ollama.default = reply_text("One, two, three", stop_reason="max_tokens")
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="local", max_retries=0) as client:
        completion = client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=3, messages=[{"role": "user", "content": "count to ten"}],
            extra_headers={"X-Session-ID": "cut"},
        )
    assert completion.choices[0].finish_reason == "length"
    turns = httpx.get(f"{server.url}/sessions/cut/transcript", trust_env=False).json()["turns"]
    assert [(t["role"], t["stop_reason"]) for t in turns] == [("user", ""), ("assistant", "max_tokens")]


def test_each_session_names_the_client_it_came_from(fake_ollama, make_trooper):
    fake_ollama.default = reply_text("Seven.")
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    question = [{"role": "user", "content": QUESTION}]
    with anthropic_client(server) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=question, extra_headers={"X-Session-ID": "sdk-a"})
        client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=question,
                               extra_headers={"X-Claude-Code-Session-Id": "cc-1", "User-Agent": "claude-cli/2.0.0 (external, cli)"})
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="local", max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=question, extra_headers={"X-Session-ID": "sdk-o"})
    browser = httpx.post(f"{server.url}/api/chat/sessions", headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Chrome/120"})
    notebook = ChatClient(Server(server.url))
    notebook_session = notebook.create_session()
    notebook.close()

    def client_of(session_id: str) -> str:
        return httpx.get(f"{server.url}/sessions/{session_id}", trust_env=False).json()["client"]

    assert [client_of(s) for s in ("sdk-a", "cc-1", "sdk-o", browser.json()["id"], notebook_session)] == [
        "anthropic-python", "Claude Code", "openai-python", "chat page", "notebook",
    ]
