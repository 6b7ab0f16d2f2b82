"""The fields of an OpenAI door's body that Trooper does not read: kept with the API that named
them, and sent as they came to the upstreams that speak it; never one the door reads itself."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wire.test_openai import FULL_REQUEST as CHAT_REQUEST
from tests.wire.test_responses import FULL_REQUEST as RESPONSES_REQUEST
from trooper.conversation import ExtraFields
from trooper.routing.classifier import forced_route
from trooper.wire import openai, openai_responses, responses

#: A local server's extensions, as the OpenAI SDK's ``extra_body`` sends them.
EXTENSIONS = {"min_p": 0.05, "repetition_penalty": 1.1, "chat_template_kwargs": {"enable_thinking": False}}


class Reading(dict):
    """A body that notes each field its door looks at."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.looked_at: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.looked_at.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.looked_at.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.looked_at.add(str(key))
        return super().__contains__(key)


def test_every_field_the_chat_completions_door_reads_is_in_its_read_set() -> None:
    # A field the decoder learns but its read set misses would reach upstreams twice over: read, and raw.
    body = Reading({**CHAT_REQUEST, "seed": 7, "top_k": 5, "logprobs": True, "response_format": {"type": "json_object"}})
    request = openai.decode_request(body)
    forced_route({}, body)
    assert body.looked_at <= openai.READ
    assert request.extra_fields is None


def test_every_field_the_responses_door_reads_is_in_its_read_set() -> None:
    body = Reading({**RESPONSES_REQUEST, "truncation": "auto", "top_k": 5, "text": {"verbosity": "low"}})
    request = responses.decode_request(body)
    responses.envelope_for(body)
    forced_route({}, body)
    assert body.looked_at <= responses.READ
    assert request.extra_fields is None


@pytest.mark.parametrize(("door", "body", "api"), [(openai, CHAT_REQUEST, "chat"), (responses, RESPONSES_REQUEST, "responses")])
def test_the_fields_a_door_does_not_read_are_kept_as_sent_with_its_api(door, body, api) -> None:
    request = door.decode_request({**body, **EXTENSIONS, "x_force_local": True})
    assert request.extra_fields == ExtraFields(api, EXTENSIONS)


def chat_request(model: str = "m", **extra: Any):
    return openai.decode_request({"model": model, "messages": [{"role": "user", "content": "x"}], **extra})


def responses_request(model: str = "m", **extra: Any):
    return responses.decode_request({"model": model, "input": "x", **extra})


def test_a_local_server_gets_those_of_either_door() -> None:
    for request in (chat_request(**EXTENSIONS), responses_request(**EXTENSIONS)):
        body = openai.encode_request(request, "qwen3-8b", stream=False, local_server=True)
        assert {name: body.get(name) for name in EXTENSIONS} == EXTENSIONS


def test_openai_gets_those_of_the_api_it_is_asked_by() -> None:
    future = {"future_setting": {"mode": "on"}}
    by_chat = openai.encode_request(chat_request("gpt-4o", **future), "gpt-4o", stream=False, openai_settings=True)
    assert by_chat["future_setting"] == {"mode": "on"}
    # The two APIs name different things alike: a field of one goes to the other never.
    assert "future_setting" not in openai.encode_request(responses_request("gpt-4o", **future), "gpt-4o", stream=False, openai_settings=True)
    assert openai_responses.encode_request(responses_request("gpt-4o", **future), "gpt-4o", stream=False)["future_setting"] == {"mode": "on"}
    assert "future_setting" not in openai_responses.encode_request(chat_request("gpt-4o", **future), "gpt-4o", stream=False)


def test_openai_gets_none_for_a_model_the_client_did_not_name() -> None:
    # A turn escalated or fallen back from a local model: its server's extensions, which OpenAI refuses.
    assert "min_p" not in openai.encode_request(chat_request("qwen3-8b", min_p=0.05), "gpt-4o", stream=False, openai_settings=True)
    assert "min_p" not in openai_responses.encode_request(responses_request("qwen3-8b", min_p=0.05), "gpt-4o", stream=False)


def test_gemini_gets_none() -> None:
    body = openai.encode_request(chat_request(**EXTENSIONS), "gemini-2.5-flash", stream=False, tool_call_signatures=True)
    assert not set(EXTENSIONS) & set(body)


def test_what_trooper_writes_keeps_its_value() -> None:
    # A Responses body's ``messages`` or ``max_tokens`` is no field of that API's: the local server
    # gets the conversation and the limit Trooper writes, not the client's stray field.
    request = responses_request(messages="stray", max_tokens=5, max_output_tokens=64)
    body = openai.encode_request(request, "qwen3-8b", stream=False, local_server=True)
    assert body["messages"] == [{"role": "user", "content": "x"}] and body["max_tokens"] == 64
