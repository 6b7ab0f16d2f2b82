"""OpenAI's Responses API (``POST /v1/responses``) as ``FakeOpenAI`` also serves it.

Trooper reaches it for turns offering OpenAI's built-in tools, and for those keeping OpenAI's
reasoning asked of a reasoning model. The fake runs its web search
for real, in its way: when the request offers ``web_search`` (or ``web_search_preview``), its
answer starts with a ``web_search_call`` item searching for the last user text, and the answer's
text cites a page (a ``url_citation`` annotation over the whole text); with ``include`` naming
``web_search_call.action.sources`` its action lists the page. Streamed, the search has its
``in_progress``/``searching``/``completed`` events. A reply that thinks has a ``reasoning`` item,
whose summary is the reply's thinking only when the request asks for one (``reasoning.summary``),
as OpenAI's is; with ``include`` naming ``reasoning.encrypted_content`` the item carries an opaque
``encrypted_content`` (in a stream, only in its ``output_item.done``, as OpenAI warns). A request's
reasoning items are checked as OpenAI checks them under ``store: false`` (``refusal``): each must
bring back an ``encrypted_content`` this fake issued for its id, followed by the item it preceded.
Function calls, usage with cached and reasoning tokens, and the error event are OpenAI's shapes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.parse
from typing import Any

from tests.fakes.behaviours import HttpError, Reply, token_logprobs, word_chunks
from tests.fakes.playback import Frame
from tests.fakes.recording import RecordedRequest, count_tokens

PATH = "/v1/responses"
SEARCH_TOOLS = ("web_search", "web_search_preview")
ENCRYPTED_REASONING = "reasoning.encrypted_content"


def _body(request: RecordedRequest) -> dict[str, Any]:
    return request.json if isinstance(request.json, dict) else {}


def _search_query(request: RecordedRequest) -> str | None:
    """What the fake searches for: the last user text, when a search tool is offered."""
    body = _body(request)
    if not any(isinstance(t, dict) and t.get("type") in SEARCH_TOOLS for t in body.get("tools") or []):
        return None
    for item in reversed(body.get("input") or []):
        if isinstance(item, dict) and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "input_text")
    return ""


def sealed(item_id: str, thinking: str) -> str:
    """The ``encrypted_content`` of a reasoning item: opaque to its reader, like OpenAI's."""
    digest = hashlib.sha256(f"{item_id}\0{thinking}".encode()).digest()
    return "gAAAAA" + base64.urlsafe_b64encode(digest * 4).decode()


def refusal(request: RecordedRequest, issued: dict[str, str]) -> HttpError | None:
    """OpenAI's error for a request's reasoning items it cannot use (``issued``: id → the
    ``encrypted_content`` given with it). Nothing is kept under ``store: false``, so an item must
    bring its content back unchanged, and be followed by the item that followed it. An item may
    come without its id (Codex sends none): its content alone names it."""
    items = _body(request).get("input")
    items = items if isinstance(items, list) else []
    for position, item in enumerate(items):
        if not isinstance(item, dict) or item.get("type") != "reasoning":
            continue
        item_id = str(item.get("id"))
        if "encrypted_content" not in item:
            message = f"Item with id '{item_id}' not found. Items are not persisted when `store` is set to false."
            return HttpError(status=404, type="invalid_request_error", message=message)
        content = item["encrypted_content"]
        if (issued.get(item_id) != content) if "id" in item else (content not in issued.values()):
            message = f"The encrypted content for item {item_id} could not be verified."
            return HttpError(status=400, type="invalid_request_error", code="invalid_encrypted_content", message=message)
        following = items[position + 1] if position + 1 < len(items) else {}
        if following.get("type") not in ("message", "function_call", "custom_tool_call", "web_search_call") or following.get("role") == "user":
            message = f"Item '{item_id}' of type 'reasoning' was provided without its required following item."
            return HttpError(status=400, type="invalid_request_error", message=message)
    return None


def citation_url(query: str) -> str:
    return "https://search.example/result?" + urllib.parse.urlencode({"q": query})


class ResponsesAnswer:
    """One answer to one request: its items, built once so the stream and its final response agree."""

    def __init__(self, reply: Reply, request: RecordedRequest, seen_prefixes: set[str], issued: dict[str, str]) -> None:
        self.request = request
        self.reply = reply
        self.id = "resp_" + secrets.token_hex(24)
        self.created_at = int(time.time())
        self.query = _search_query(request)
        self.chunks = reply.text_chunks(request) if reply.echo is None else word_chunks(self.query or "")
        self.text = "".join(self.chunks)
        self.items: list[dict[str, Any]] = []
        body = _body(request)
        if self.query is not None:
            action: dict[str, Any] = {"type": "search", "query": self.query}
            if "web_search_call.action.sources" in (body.get("include") or []):
                action["sources"] = [{"type": "url", "url": citation_url(self.query)}]
            self.items.append({"id": "ws_" + secrets.token_hex(24), "type": "web_search_call", "status": "completed", "action": action})
        if reply.thinking:
            summarised = isinstance(body.get("reasoning"), dict) and body["reasoning"].get("summary") is not None
            summary = [{"type": "summary_text", "text": reply.thinking}] if summarised else []
            reasoning: dict[str, Any] = {"id": "rs_" + secrets.token_hex(24), "type": "reasoning", "summary": summary}
            if ENCRYPTED_REASONING in (body.get("include") or []):
                reasoning["encrypted_content"] = issued[reasoning["id"]] = sealed(reasoning["id"], reply.thinking)
            self.items.append(reasoning)
        # The tokens' log probabilities, when asked for (each streamed piece taken as one token).
        top = int(body.get("top_logprobs") or 0)
        asked = "message.output_text.logprobs" in (body.get("include") or [])
        self.logprobs = [token_logprobs(piece, i, top) for i, piece in enumerate(self.chunks)] if asked else []
        if self.text or not reply.tool_calls:
            self.items.append({
                "id": "msg_" + secrets.token_hex(24), "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": self.text, "annotations": self.annotations(), "logprobs": self.logprobs}],
            })  # fmt: skip
        custom = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "custom"}
        for call in reply.tool_calls:
            call_id = call.id or "call_" + secrets.token_hex(12)
            if call.name in custom:  # a custom tool's call: its input is one string (the reply's "input" argument)
                self.items.append({
                    "id": "ctc_" + secrets.token_hex(24), "type": "custom_tool_call", "status": "completed",
                    "call_id": call_id, "name": call.name, "input": str(call.arguments.get("input", "")),
                })  # fmt: skip
                continue
            self.items.append({
                "id": "fc_" + secrets.token_hex(24), "type": "function_call", "status": "completed",
                "call_id": call_id, "name": call.name, "arguments": call.arguments_json(),
            })  # fmt: skip
        self.usage = self._usage(seen_prefixes)

    def annotations(self) -> list[dict[str, Any]]:
        if self.query is None or not self.text:
            return []
        title = f"Result for {self.query}"
        return [{"type": "url_citation", "start_index": 0, "end_index": len(self.text), "title": title, "url": citation_url(self.query)}]

    def _usage(self, seen_prefixes: set[str]) -> dict[str, Any]:
        """OpenAI's prompt caching, as the Chat Completions fake counts it: the longest run of
        input items seen before, from 1,024 tokens, in steps of 128."""
        body = _body(self.request)
        items = body.get("input") if isinstance(body.get("input"), list) else []
        head = json.dumps([body.get("instructions"), body.get("tools")])
        prompt = count_tokens(head + json.dumps(items))
        cached = 0
        for end in range(1, len(items) + 1):
            key = head + json.dumps(items[:end], sort_keys=True)
            tokens = count_tokens(key)
            if key in seen_prefixes and tokens >= 1024:
                cached = tokens // 128 * 128
            seen_prefixes.add(key)
        reasoning = count_tokens(self.reply.thinking) if self.reply.thinking else 0
        output = max(1, reasoning + count_tokens(self.text) + sum(count_tokens(c.name + c.arguments_json()) for c in self.reply.tool_calls))
        return {
            "input_tokens": prompt, "input_tokens_details": {"cached_tokens": min(cached, prompt)},
            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt + output,
        }  # fmt: skip

    def response(self, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
        body = _body(self.request)
        incomplete = self.reply.stop_reason == "max_tokens" and status != "in_progress"
        return {
            "id": self.id, "object": "response", "created_at": self.created_at,
            "status": "incomplete" if incomplete else status, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
            "model": body.get("model") or "unknown", "output": output, "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": None, "reasoning": body.get("reasoning"), "store": body.get("store", True),
            "temperature": body.get("temperature"), "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [], "top_p": body.get("top_p"),
            "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
        }  # fmt: skip

    def complete_body(self) -> dict[str, Any]:
        return self.response("completed", self.items, self.usage)

    def frames(self) -> list[Frame]:
        """The stream: every event numbered, the text and argument pieces content frames."""
        sequence = iter(range(1_000_000))
        frames: list[Frame] = []

        def event(kind: str, content: bool = False, terminator: bool = False, **fields: Any) -> None:
            payload = {"type": kind, "sequence_number": next(sequence), **fields}
            frames.append(Frame(f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode(), content=content, terminator=terminator))

        started = self.response("in_progress", [], None)
        event("response.created", response=started)
        event("response.in_progress", response=started)
        for index, item in enumerate(self.items):
            place = {"item_id": item["id"], "output_index": index}
            kind = item["type"]
            if kind == "web_search_call":
                event("response.output_item.added", output_index=index, item={**item, "status": "in_progress"})
                for step in ("in_progress", "searching", "completed"):
                    event(f"response.web_search_call.{step}", content=step == "searching", **place)
            elif kind == "reasoning" and not item["summary"]:
                event("response.output_item.added", output_index=index, item=_unsealed(item))
            elif kind == "reasoning":
                event("response.output_item.added", output_index=index, item={**_unsealed(item), "summary": []})
                summary = item["summary"][0]["text"]
                part = {"type": "summary_text", "text": ""}
                event("response.reasoning_summary_part.added", **place, summary_index=0, part=part)
                for piece in word_chunks(summary):
                    event("response.reasoning_summary_text.delta", content=True, **place, summary_index=0, delta=piece)
                event("response.reasoning_summary_text.done", **place, summary_index=0, text=summary)
                event("response.reasoning_summary_part.done", **place, summary_index=0, part={**part, "text": summary})
            elif kind == "message":
                event("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
                event("response.content_part.added", **place, content_index=0, part={"type": "output_text", "text": "", "annotations": [], "logprobs": []})
                for position, piece in enumerate(self.chunks):
                    logprobs = self.logprobs[position : position + 1]
                    event("response.output_text.delta", content=True, **place, content_index=0, delta=piece, logprobs=logprobs)
                for position, annotation in enumerate(item["content"][0]["annotations"]):
                    event("response.output_text.annotation.added", **place, content_index=0, annotation_index=position, annotation=annotation)
                event("response.output_text.done", **place, content_index=0, text=self.text, logprobs=self.logprobs)
                event("response.content_part.done", **place, content_index=0, part=item["content"][0])
            elif kind == "custom_tool_call":
                event("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "input": ""})
                for piece in word_chunks(item["input"]):
                    event("response.custom_tool_call_input.delta", content=True, **place, delta=piece)
                event("response.custom_tool_call_input.done", **place, input=item["input"])
            else:
                call = next(c for c in self.reply.tool_calls if c.name == item["name"])
                event("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "arguments": ""})
                for piece in call.argument_fragments():
                    event("response.function_call_arguments.delta", content=True, **place, delta=piece)
                event("response.function_call_arguments.done", **place, arguments=item["arguments"])
            event("response.output_item.done", output_index=index, item=item)
        final = self.response("completed", self.items, self.usage)
        event("response.incomplete" if final["status"] == "incomplete" else "response.completed", terminator=True, response=final)
        return frames


def _unsealed(item: dict[str, Any]) -> dict[str, Any]:
    """A reasoning item as its ``output_item.added`` shows it: its content comes with ``.done``."""
    return {key: value for key, value in item.items() if key != "encrypted_content"}
