"""Placeholders on their own: stable per session, restored in text, JSON and split stream deltas."""

from __future__ import annotations

import json

from trooper.conversation import (
    BlockStart,
    BlockStop,
    HostedToolBlock,
    HostedToolProgress,
    HostedToolUpdate,
    Message,
    MessageStop,
    Request,
    Response,
    TextAnnotation,
    TextBlock,
    TextDelta,
    ToolInputDelta,
    ToolResultBlock,
    ToolUseBlock,
)
from trooper.privacy import CustomRules
from trooper.privacy.placeholders import Placeholders, Redactor

KEY = "AKIAQ3EGRTW5J2KD7XPL"
PASSWORD = 'p4ss\\w0rd-Zq81x'  # a backslash: JSON must escape it


def redactor() -> Redactor:
    return Redactor(Placeholders(), CustomRules())


def test_a_value_learned_later_is_masked_in_a_text_redacted_before_it_was_known():
    r = redactor()
    earlier = Request("m", [Message("user", [TextBlock("I typed Zq7-hunter-Quokka-881 into the login form")])])
    assert r.redact(earlier).messages[0].content[0].text == "I typed Zq7-hunter-Quokka-881 into the login form"
    later = Request("m", [*earlier.messages, Message("user", [TextBlock("DB_PASSWORD=Zq7-hunter-Quokka-881")])])
    resent = r.redact(later)  # the history resends the earlier text: it must not go out with the value
    assert [m.content[0].text for m in resent.messages] == [
        "I typed [SECRET_1] into the login form",
        "DB_PASSWORD=[SECRET_1]",
    ]


def test_each_value_gets_one_placeholder_for_the_whole_session():
    r = redactor()
    request = Request("m", [
        Message("user", [TextBlock(f"key {KEY}, mail jane.doe@acme.io")]),
        Message("assistant", [ToolUseBlock("t1", "deploy", {"env": {"AWS": KEY}})]),
        Message("user", [TextBlock(f"again {KEY}")]),
    ])  # fmt: skip
    out = r.redact(request)
    assert out.messages[0].content[0].text == "key [SECRET_1], mail [EMAIL_2]"
    assert out.messages[1].content[0].input == {"env": {"AWS": "[SECRET_1]"}}
    assert out.messages[2].content[0].text == "again [SECRET_1]"
    assert KEY not in repr(out)


def test_a_placeholder_split_across_deltas_is_restored_and_json_stays_valid():
    r = redactor()
    r.redact(Request("m", [Message("user", [TextBlock(f"key {KEY} and DB_PASSWORD='{PASSWORD}'")])]))
    restorer = r.stream_restorer()
    events = [
        TextDelta(0, "use [SEC"), TextDelta(0, "RET_1"), TextDelta(0, "] now ["), BlockStop(0),
        ToolInputDelta(1, '{"password": "[SECR'), ToolInputDelta(1, 'ET_2]"}'), BlockStop(1), MessageStop(),
    ]  # fmt: skip
    out = [e for event in events for e in restorer.restore(event)]
    text = "".join(e.text for e in out if isinstance(e, TextDelta))
    arguments = "".join(e.partial_json for e in out if isinstance(e, ToolInputDelta))
    assert text == f"use {KEY} now ["
    assert json.loads(arguments) == {"password": PASSWORD}
    assert isinstance(out[-1], MessageStop)


def test_unknown_placeholders_and_plain_brackets_pass_through():
    r = redactor()
    assert r.placeholders.restore_text("a [SECRET_9] and [x]") == "a [SECRET_9] and [x]"


def test_openai_s_items_and_citations_are_redacted_and_restored_but_their_ids():
    r = redactor()
    item = {"id": f"ws_{KEY}", "type": "web_search_call", "action": {"type": "search", "query": f"is {KEY} leaked"}}
    citation = {"type": "url_citation", "title": f"About {KEY}", "url": "https://a.example"}
    request = Request("m", [Message("user", [TextBlock(f"key {KEY}")]), Message("assistant", [HostedToolBlock(item), TextBlock("No.", annotations=[citation])])])
    search, text = r.redact(request).messages[1].content
    assert search == HostedToolBlock({**item, "action": {"type": "search", "query": "is [SECRET_1] leaked"}}), "its id stays as it was"
    assert isinstance(text, TextBlock) and text.annotations == [{**citation, "title": "About [SECRET_1]"}]
    answer = Response("r", "m", [search, text])
    assert r.restore(answer).content == [HostedToolBlock(item), TextBlock("No.", annotations=[citation])]
    restorer = r.stream_restorer()
    events = [
        BlockStart(0, search), HostedToolProgress(0, "response.web_search_call.searching", {"query": "[SECRET_1]"}),
        HostedToolUpdate(0, search.item), TextAnnotation(1, text.annotations[0]),
    ]  # fmt: skip
    restored = [out for event in events for out in restorer.restore(event)]
    assert restored == [
        BlockStart(0, HostedToolBlock(item)), HostedToolProgress(0, "response.web_search_call.searching", {"query": KEY}),
        HostedToolUpdate(0, item), TextAnnotation(1, citation),
    ]  # fmt: skip


def test_a_text_documents_secret_is_masked_in_a_tool_result_too_and_a_pdfs_bytes_are_never_rewritten():
    # Claude Code's Read of a .env as a text document, and a PDF whose base64 holds the key's very characters.
    pdf_data = "JVBERi0xLjQK" + KEY + "Zm9vYmFy"
    text_document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": f"AWS_ACCESS_KEY_ID={KEY}"}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf_data}}
    request = Request("m", [
        Message("user", [TextBlock(f"my key is {KEY}"), HostedToolBlock(pdf, host="anthropic")]),
        Message("assistant", [ToolUseBlock("t1", "Read", {"file_path": ".env"})]),
        Message("user", [ToolResultBlock("t1", [HostedToolBlock(text_document, host="anthropic")])]),
    ])  # fmt: skip
    out = redactor().redact(request)
    assert out.messages[0].content[0].text == "my key is [SECRET_1]"
    assert out.messages[0].content[1].item["source"]["data"] == pdf_data, "a changed byte breaks the PDF"
    assert out.messages[2].content[0].content[0].item["source"]["data"] == "AWS_ACCESS_KEY_ID=[SECRET_1]"
