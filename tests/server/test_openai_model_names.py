"""OpenAI's own model names reach OpenAI as the client asked: a name OpenAI owns is sent as it is,
any other is replaced by the configured ``OPENAI_MODEL``. Codex's ``codex-mini-latest`` and the
computer-use model were not known as OpenAI's, so such a turn was answered by gpt-4o-mini."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.behaviours import reply_text

CLOUD = {"X-Trooper-Route": "cloud"}


@pytest.fixture
def server(fake_openai, make_trooper):
    fake_openai.default = reply_text("Sent as asked.")
    return make_trooper(OPENAI_API_KEY="sk-test-openai-0123456789abcdef", OPENAI_URL=fake_openai.chat_completions_url,
                        OPENAI_MODEL="gpt-4o-mini")  # fmt: skip


@pytest.mark.parametrize("model", ["codex-mini-latest", "computer-use-preview", "gpt-4.1", "o4-mini"])
def test_an_openai_model_reaches_openai_unchanged(server, fake_openai, model: str) -> None:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as oai:
        response = oai.responses.create(model=model, input="List the files.", extra_headers=CLOUD)
    assert response.output_text == "Sent as asked."
    assert fake_openai.requests[-1].json["model"] == model


@pytest.mark.parametrize("model", ["gpt-5-codex", "gpt-5.1-codex-mini", "codex-mini-latest", "o3-pro", "computer-use-preview"])
def test_a_model_only_the_responses_api_serves_goes_by_it_from_any_door(server, fake_openai, model: str) -> None:
    # OpenAI's Chat Completions refuses these models ("only supported in v1/responses").
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as oai:
        completion = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": "List the files."}],
                                                 extra_headers=CLOUD)
    assert completion.choices[0].message.content == "Sent as asked."
    sent = fake_openai.requests[-1]
    assert sent.path.endswith("/responses") and sent.json["model"] == model


def test_gpt_5_takes_a_verbosity_its_codex_models_do_not(server, fake_openai) -> None:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as oai:
        for model in ("gpt-5", "gpt-5-codex"):
            oai.responses.create(model=model, input="List the files.", text={"verbosity": "low"}, extra_headers=CLOUD)
            sent = fake_openai.requests[-1].json  # by Chat Completions (gpt-5), by the Responses API (gpt-5-codex)
            assert sent.get("verbosity", (sent.get("text") or {}).get("verbosity")) == ("low" if model == "gpt-5" else None)


def test_another_model_is_replaced_by_the_configured_one(server, fake_openai) -> None:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as oai:
        oai.responses.create(model="claude-sonnet-4-5", input="List the files.", extra_headers=CLOUD)
    assert fake_openai.requests[-1].json["model"] == "gpt-4o-mini"
