"""FakeOllama speaks Ollama's native API: NDJSON /api/chat, /api/show, /api/tags and the banner."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fakes import FakeOllama, OllamaModel, echo, overloaded, reply_text, reply_tool_calls, stream_error, tool_call

MODEL = "llama3.1:8b"
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]


def chat(fake: FakeOllama, **body: object) -> httpx.Response:
    return httpx.post(fake.api_chat_url, json={"model": MODEL, "messages": USER, **body})


def ndjson(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_banner_and_version(fake_ollama: FakeOllama) -> None:
    banner = httpx.get(fake_ollama.url + "/")
    assert (banner.status_code, banner.text) == (200, "Ollama is running")
    assert httpx.head(fake_ollama.url + "/").status_code == 200
    assert "version" in httpx.get(fake_ollama.url + "/api/version").json()


def test_chat_streams_ndjson_by_default(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(reply_text("Hello", chunks=["Hel", "lo"]))
    response = chat(fake_ollama)
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = ndjson(response)
    assert [line["message"]["content"] for line in lines] == ["Hel", "lo", ""]
    assert [line["done"] for line in lines] == [False, False, True]
    assert all(line["model"] == MODEL and line["created_at"].endswith("Z") for line in lines)
    done = lines[-1]
    assert done["done_reason"] == "stop"
    assert done["prompt_eval_count"] == 7 and done["eval_count"] == 1
    assert done["total_duration"] > 0


def test_chat_without_streaming_is_one_object(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(reply_text("Sunny and mild."))
    body = chat(fake_ollama, stream=False).json()
    assert body["message"] == {"role": "assistant", "content": "Sunny and mild."}
    assert body["done"] is True and body["eval_count"] == 4


def test_tool_calls_come_whole_and_done_reason_still_says_stop(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"}), tool_call("get_time", {"tz": "CET"})))
    lines = ndjson(chat(fake_ollama, tools=TOOLS))
    calls = lines[0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert calls[0]["function"]["arguments"] == {"city": "Paris"}  # an object, not a JSON string
    assert lines[-1]["done_reason"] == "stop"


def test_num_ctx_is_recorded_and_truncates_the_prompt_count(fake_ollama: FakeOllama) -> None:
    long = [{"role": "user", "content": "word " * 50}]
    lines = ndjson(chat(fake_ollama, messages=long, options={"num_ctx": 16}))
    assert fake_ollama.last_request.json["options"]["num_ctx"] == 16
    assert lines[-1]["prompt_eval_count"] == 16


def test_echo(fake_ollama: FakeOllama) -> None:
    fake_ollama.default = echo()
    assert chat(fake_ollama, stream=False).json()["message"]["content"] == "What is the weather in Paris?"


def test_model_not_pulled_is_ollamas_404(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(reply_text("scripted"))
    response = chat(fake_ollama, model="mistral")
    assert response.status_code == 404
    assert response.json() == {"error": "model 'mistral' not found, try pulling it first"}
    assert fake_ollama.pending == 1  # the script is kept for a request that gets that far


def test_bare_name_means_latest(fake_ollama: FakeOllama) -> None:
    fake_ollama.install("qwen2.5")
    assert chat(fake_ollama, model="qwen2.5").status_code == 200
    assert chat(fake_ollama, model="qwen2.5:latest").status_code == 200


def test_model_without_tools_capability_rejects_tools(fake_ollama: FakeOllama) -> None:
    fake_ollama.install("gemma:2b", capabilities=("completion",))
    response = chat(fake_ollama, model="gemma:2b", tools=TOOLS)
    assert response.status_code == 400
    assert response.json() == {"error": "registry.ollama.ai/library/gemma:2b does not support tools"}
    assert chat(fake_ollama, model="gemma:2b").status_code == 200


def test_tags_lists_installed_models(fake_ollama: FakeOllama) -> None:
    fake_ollama.install("qwen2.5:7b", architecture="qwen2", parameter_size="7.6B")
    models = httpx.get(fake_ollama.url + "/api/tags").json()["models"]
    assert [m["name"] for m in models] == [MODEL, "qwen2.5:7b"]
    assert models[1]["details"]["family"] == "qwen2"
    assert len(models[1]["digest"]) == 64


def test_show_reports_context_length_and_capabilities() -> None:
    models = [OllamaModel("qwen2.5:7b", context_length=32768, capabilities=("completion", "tools", "vision"), architecture="qwen2")]
    with FakeOllama(models=models) as fake:
        shown = httpx.post(fake.url + "/api/show", json={"model": "qwen2.5:7b"}).json()
        legacy = httpx.post(fake.url + "/api/show", json={"name": "qwen2.5:7b"})
        missing = httpx.post(fake.url + "/api/show", json={"model": "nope"})
    assert shown["model_info"]["qwen2.context_length"] == 32768
    assert shown["model_info"]["general.architecture"] == "qwen2"
    assert shown["capabilities"] == ["completion", "tools", "vision"]
    assert legacy.status_code == 200
    assert missing.status_code == 404 and "not found" in missing.json()["error"]


def test_errors_are_a_plain_error_string(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(overloaded())
    response = chat(fake_ollama)
    assert response.status_code == 503
    assert list(response.json()) == ["error"]


def test_in_stream_error_is_an_error_line(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(stream_error(after=1, text="one two"))
    lines = ndjson(chat(fake_ollama))
    assert lines[0]["message"]["content"] == "one "
    assert list(lines[-1]) == ["error"]


@pytest.mark.parametrize("bad_body", [{"messages": USER}, {"model": "", "messages": USER}])
def test_missing_model_is_a_400(fake_ollama: FakeOllama, bad_body: dict) -> None:
    response = httpx.post(fake_ollama.api_chat_url, json=bad_body)
    assert response.status_code == 400
    assert response.json() == {"error": "model is required"}
