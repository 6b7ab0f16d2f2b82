"""A client's reasoning effort reaches OpenAI: the Responses API's ``reasoning.effort`` and Chat
Completions' ``reasoning_effort``, through the official openai SDK, arrive at the fake OpenAI as
Chat Completions' ``reasoning_effort``. Before, the effort became a thinking budget for Claude and
was dropped for every OpenAI-shaped upstream, so an OpenAI reasoning model answered at its default.
OpenAI refuses the field for a model that does not reason, so a fallback to one goes without it."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.behaviours import reply_text

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
CLOUD = {"X-Trooper-Route": "cloud"}


@pytest.fixture
def server(fake_openai, make_trooper):
    fake_openai.default = reply_text("Reasoned.")
    return make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url, OPENAI_MODEL="gpt-4o-mini")


def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_responses_reasoning_effort_reaches_openai(server, fake_openai, stream: bool) -> None:
    with client(server) as oai:
        request = {"model": "gpt-5", "input": "Plan the migration.", "reasoning": {"effort": "high"}, "extra_headers": CLOUD}
        if stream:
            with oai.responses.stream(**request) as events:
                response = events.get_final_response()
        else:
            response = oai.responses.create(**request)
    assert response.output_text == "Reasoned." and response.reasoning is not None and response.reasoning.effort == "high"
    sent = fake_openai.requests[-1].json
    assert (sent["model"], sent["reasoning_effort"]) == ("gpt-5", "high")
    assert "thinking" not in sent and "reasoning" not in sent, "Claude's thinking and the Responses shape stay out"


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_chat_completions_reasoning_effort_reaches_openai(server, fake_openai, stream: bool) -> None:
    with client(server) as oai:
        request = {"model": "o4-mini", "messages": [{"role": "user", "content": "Plan the migration."}],
                   "reasoning_effort": "minimal", "extra_headers": CLOUD}  # fmt: skip
        if stream:
            text = "".join(chunk.choices[0].delta.content or "" for chunk in oai.chat.completions.create(**request, stream=True) if chunk.choices)
        else:
            text = oai.chat.completions.create(**request).choices[0].message.content
    assert text == "Reasoned."
    assert fake_openai.requests[-1].json["reasoning_effort"] == "minimal"


def test_a_model_that_does_not_reason_is_not_sent_the_effort(server, fake_openai) -> None:
    # A Claude model name reaches OpenAI as the configured gpt-4o-mini, which refuses reasoning_effort.
    with client(server) as oai:
        response = oai.responses.create(model="claude-sonnet-4-5", input="Plan the migration.", reasoning={"effort": "low"},
                                        extra_headers=CLOUD)
    assert response.output_text == "Reasoned."
    sent = fake_openai.requests[-1].json
    assert sent["model"] == "gpt-4o-mini" and "reasoning_effort" not in sent


def test_an_unknown_effort_is_a_400_naming_the_field(server, fake_openai) -> None:
    with client(server) as oai, pytest.raises(openai.BadRequestError) as refused:
        oai.chat.completions.create(model="o4-mini", messages=[{"role": "user", "content": "x"}],
                                    reasoning_effort="extreme", extra_headers=CLOUD)  # type: ignore[arg-type]
    assert "reasoning_effort: must be one of" in refused.value.message and not fake_openai.requests
