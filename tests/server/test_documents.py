"""Documents through the Messages door, with the official anthropic SDK (strict validation): a PDF
or a text a client sends Claude (in a message, or in a tool result as Claude Code's Read of a PDF
gives it) reaches Claude verbatim; a turn carrying one goes to the cloud, like an image; an
upstream that cannot read documents gets a text document's text, or a note that a PDF was left
out, and the decision header says so (``HostedToolBlock.stand_in``)."""

from __future__ import annotations

import base64

import anthropic
import openai
import pytest

from tests.fakes.behaviours import overloaded, reply_text
from tests.harness import TrooperThread

ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
PDF = {
    "type": "document", "title": "Q3 report", "citations": {"enabled": True},
    "source": {"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(b"%PDF-1.4 fake report").decode()},
}
NOTES = {"type": "document", "title": "notes.txt", "source": {"type": "text", "media_type": "text/plain", "data": "Ship on Friday."}}


@pytest.fixture
def claude_and_local(fake_anthropic, fake_ollama, make_trooper):
    env = {"CLAUDE_API_KEY": ANTHROPIC_KEY, "CLAUDE_URL": fake_anthropic.messages_url, "FALLBACK_URL": fake_ollama.api_chat_url}
    return make_trooper(**env), fake_anthropic, fake_ollama


def sdk(server: TrooperThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True)


def chats(fake) -> list:  # type: ignore[no-untyped-def]
    return [r.json for r in fake.requests if r.path == "/api/chat"]


def test_a_pdf_goes_to_claude_verbatim(claude_and_local):
    server, claude, local = claude_and_local
    claude.default = reply_text("Revenue grew.")
    with sdk(server) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=256,
            messages=[{"role": "user", "content": [PDF, {"type": "text", "text": "summarise"}]}],
        )
    assert raw.parse().content[0].text == "Revenue grew."
    assert raw.headers["x-trooper-decision"] == "claude (escalated)", "a short turn, but only the cloud reads the PDF"
    (sent,) = claude.requests
    assert sent.json["messages"] == [{"role": "user", "content": [PDF, {"type": "text", "text": "summarise"}]}]
    assert chats(local) == []


def test_claude_codes_read_of_a_pdf_in_a_tool_result_reaches_claude_verbatim(claude_and_local):
    server, claude, _ = claude_and_local
    claude.default = reply_text("It is a quarterly report.")
    read = {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "/work/q3.pdf"}}
    result = {"type": "tool_result", "tool_use_id": "toolu_01", "content": [PDF]}
    tools = [{"name": "Read", "description": "Read a file", "input_schema": {"type": "object"}}]
    with sdk(server) as client:
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=256, tools=tools,
            messages=[{"role": "user", "content": "what is q3.pdf?"}, {"role": "assistant", "content": [read]}, {"role": "user", "content": [result]}],
        )
    assert claude.requests[0].json["messages"][2]["content"] == [result]


def test_a_model_that_cannot_read_documents_gets_their_text_or_a_note_and_the_header_says_so(claude_and_local):
    server, claude, local = claude_and_local
    claude.default = overloaded()
    local.default = reply_text("Friday, per the notes.")
    with sdk(server) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=256, extra_headers={"X-Trooper-Route": "local"},
            messages=[{"role": "user", "content": [NOTES, PDF, {"type": "text", "text": "when do we ship?"}]}],
        )
    assert raw.parse().content[0].text == "Friday, per the notes."
    assert raw.headers["x-trooper-decision"] == "ollama (direct) | documents omitted: the model cannot read them"
    (asked,) = chats(local)
    content = asked["messages"][-1]["content"]
    assert "[document: notes.txt]\nShip on Friday." in content, "a text document's text"
    assert "[document omitted (Q3 report): this model cannot read it]" in content and "when do we ship?" in content
    assert PDF["source"]["data"] not in content and claude.requests == []


PDF_DATA_URL = f"data:application/pdf;base64,{PDF['source']['data']}"


def openai_sdk(server: TrooperThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def test_an_openai_clients_pdf_reaches_claude_as_a_document_and_openai_as_a_file(fake_anthropic, fake_openai, make_trooper):
    # Chat Completions' file part and the Responses API's input_file, inline: Claude reads them as documents.
    server = make_trooper(
        CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url,
        OPENAI_API_KEY="sk-test-openai-0123456789abcdef", OPENAI_URL=fake_openai.chat_completions_url,
    )
    fake_anthropic.default = reply_text("Revenue grew.")
    file_part = {"type": "file", "file": {"filename": "q3.pdf", "file_data": PDF_DATA_URL}}
    with openai_sdk(server) as client:
        chat = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": [file_part, {"type": "text", "text": "summarise"}]}],
        )
        response = client.responses.create(
            model="gpt-4o", input=[{"role": "user", "content": [
                {"type": "input_file", "filename": "q3.pdf", "file_data": PDF_DATA_URL}, {"type": "input_text", "text": "summarise"},
            ]}],
        )
    assert chat.choices[0].message.content == "Revenue grew." and response.output_text == "Revenue grew."
    document = {"type": "document", "source": PDF["source"], "title": "q3.pdf"}
    assert [r.json["messages"][0]["content"][0] for r in fake_anthropic.requests] == [document, document]
    # Claude failing, OpenAI answers: it gets the PDF back as its own file part.
    fake_anthropic.default = overloaded()
    fake_openai.default = reply_text("Revenue grew, says OpenAI.")
    with openai_sdk(server) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": [file_part, {"type": "text", "text": "summarise"}]}],
        )
    assert raw.headers["x-trooper-decision"].startswith("openai (fallback")
    (asked,) = [r.json for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert asked["messages"][-1]["content"][0] == file_part


def test_a_file_by_id_is_a_clear_400_trooper_keeps_no_files(fake_anthropic, make_trooper):
    server = make_trooper(CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    with openai_sdk(server) as client:
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}])
    assert "file_data: field required (Trooper has no file store" in raised.value.message and fake_anthropic.requests == []
