"""The canonical conversation model.

Every wire format (Anthropic Messages, OpenAI Chat Completions, Ollama, Gemini) is decoded into
these types and encoded back from them; nothing translates one wire format into another directly.

The stream events mirror the richest of the protocols (Anthropic's): a message starts, content
blocks start / receive deltas / stop with contiguous indexes, the message ends with a stop reason
and usage. Codecs for flatter protocols keep the state needed to map their frames onto this.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeGuard

from trooper import json_text
from trooper.redaction import redact

Role = Literal["user", "assistant"]

#: Canonical stop reasons (Anthropic's vocabulary; codecs map to and from their own).
#: ``pause_turn``: Claude paused a long server-tool turn; the client resends the history to continue it.
#: ``compaction``: Claude compacted the conversation and paused (``pause_after_compaction``), its
#: answer a compaction block alone; the client resends the history with it to continue.
StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn", "compaction", "error"]
STOP_REASONS: tuple[str, ...] = ("end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn", "compaction", "error")

#: How a summary of the earlier conversation opens when a model that did not write it reads it
#: (Trooper's own compaction item, Claude's compaction block), and how it is told from a person's text.
SUMMARY_HEADING = "[Summary of the earlier conversation, made when it was compacted]"

#: The ``encrypted_content`` of a compaction block Trooper made (another model's summary, given
#: where Claude would give its own): no Claude signed it, so Claude too reads it as text.
TROOPER_COMPACTION = "trooper.summary"


def summary_text(summary: str) -> str:
    """A compaction's summary as the text any model reads in place of what it summarises."""
    return f"{SUMMARY_HEADING}\n{summary}"


def summary_in(text: str) -> str | None:
    """The summary a ``summary_text`` holds; None for any other text."""
    return text[len(SUMMARY_HEADING) + 1 :].strip() if text.startswith(SUMMARY_HEADING + "\n") else None


# ---------------------------------------------------------------- content blocks


#: A provider's prompt-cache hint on a block or a tool, as the client sent it (Anthropic's
#: ``cache_control``: ``{"type": "ephemeral", "ttl": "5m"}``). A transport hint, not content: it
#: is never stored nor compared, and reaches the providers that understand it unchanged.
CacheControl = dict[str, Any]


@dataclass
class TextBlock:
    text: str
    type: Literal["text"] = "text"
    cache_control: CacheControl | None = None
    #: OpenAI's annotations of the text (``url_citation``… from its built-in tools), verbatim;
    #: None when the provider gave none. Only the Responses door shows them.
    annotations: list[dict[str, Any]] | None = None
    #: Claude's citations of the text (``web_search_result_location``… from its server tools),
    #: verbatim; None when it gave none. Only the Messages door shows them, and Claude gets them back.
    citations: list[dict[str, Any]] | None = None


@dataclass
class ImageBlock:
    """An image, either inline (base64 ``data`` with ``media_type``) or by ``url``."""

    media_type: str = "image/png"
    data: str | None = None
    url: str | None = None
    type: Literal["image"] = "image"
    cache_control: CacheControl | None = None

    def data_url(self) -> str:
        """The image as a URL: the remote URL, or a ``data:`` URL for inline bytes."""
        if self.data is not None:
            return f"data:{self.media_type};base64,{self.data}"
        return self.url or ""


@dataclass
class ToolUseBlock:
    id: str
    name: str
    input: dict[str, Any] = field(default_factory=dict)
    type: Literal["tool_use"] = "tool_use"
    #: An opaque token the provider attached to the call and requires back with it in the next
    #: request (Gemini's ``thought_signature``); None for providers that have none.
    signature: str | None = None
    cache_control: CacheControl | None = None
    #: Claude's own fields of the call (``caller``: the code execution that made it;
    #: ``toolset_name``: the toolset its tool is a member of…), as Claude gave them: Claude and an
    #: Anthropic client get them back as they came, no other upstream. Not compared: a client that
    #: resends the call without them resends the same call.
    claude_fields: dict[str, Any] | None = field(default=None, compare=False)

    def as_text(self) -> str:
        """The call told in words, for a model or a request that takes no tools."""
        return f"[called tool {self.name} with {json.dumps(self.input)}]"


@dataclass
class ToolResultBlock:
    tool_use_id: str
    #: Text and images; a ``HostedToolBlock`` a document only Claude reads (Claude Code's Read of a PDF).
    content: list[ToolResultPart] = field(default_factory=list)
    is_error: bool = False
    type: Literal["tool_result"] = "tool_result"
    cache_control: CacheControl | None = None
    #: Claude's own fields of the result (``toolset_name``…), as the client sent them: Claude alone gets them.
    claude_fields: dict[str, Any] | None = field(default=None, compare=False)

    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    def as_text(self) -> str:
        """The result told in words (its text), for a model or a request that takes no tools."""
        return f"[{'tool error' if self.is_error else 'tool result'}: {self.text()}]"


@dataclass
class ThinkingBlock:
    thinking: str
    signature: str | None = None
    type: Literal["thinking"] = "thinking"
    #: Anthropic's ``redacted_thinking``: the encrypted reasoning (``thinking`` is then empty),
    #: which Claude needs back unchanged in the next request.
    redacted: str | None = None
    #: ``thinking`` is a summary of reasoning the model keeps to itself (OpenAI's reasoning
    #: summary), not the reasoning itself: a Responses client gets it as the item's ``summary``.
    summary: bool = False
    #: OpenAI's reasoning item as its Responses API gave it (its ``id``, ``summary`` and, when the
    #: client included it, ``encrypted_content``), verbatim: OpenAI's Responses API gets it back
    #: as it came and in place; no other upstream can read it, so none gets it (they see the
    #: ``thinking`` alone, as they would any thinking without their own signature).
    openai_item: dict[str, Any] | None = None

    def resends_openai_reasoning(self) -> bool:
        """It holds OpenAI's reasoning item with its ``encrypted_content``: what OpenAI's Responses
        API can be given back (under ``store: false`` an item without it names nothing OpenAI has)."""
        return bool(self.openai_item and self.openai_item.get("encrypted_content"))


#: Who runs a request's built-in tools and reads their items back: OpenAI (its Responses API's
#: ``web_search``…) or Anthropic (Claude's server tools, ``web_search_20250305``…).
ToolHost = Literal["openai", "anthropic"]


@dataclass
class HostedToolBlock:
    """An item of a built-in tool that only its ``host`` runs or knows, kept verbatim: OpenAI's
    Responses API items (``web_search_call``, ``computer_call_output``…) or Claude's server-tool
    blocks (``server_tool_use``, ``web_search_tool_result``…). The host gets it back as it came;
    every other upstream gets the conversation without it (``Request.without_hosted_items``), the
    answer text around it kept."""

    item: dict[str, Any]
    type: Literal["hosted_tool"] = "hosted_tool"
    host: ToolHost = "openai"

    def is_document(self) -> bool:
        """A document the client sent Claude (a PDF, a text), not a tool's item."""
        return self.item.get("type") == "document"

    def is_claude_compaction(self) -> bool:
        """A compaction block of Claude's protocol (``compact_20260112``, a ``compaction``
        request): its summary stands for everything before it, which Claude then ignores."""
        return self.host == "anthropic" and self.item.get("type") == "compaction"

    def summary(self) -> str | None:
        """A compaction block's summary; None for a compaction that failed, or another item."""
        content = self.item.get("content") if self.is_claude_compaction() else None
        return content.strip() if isinstance(content, str) and content.strip() else None

    def made_by_trooper(self) -> bool:
        """A compaction block whose summary another model wrote for Trooper (``TROOPER_COMPACTION``)."""
        return self.is_claude_compaction() and self.item.get("encrypted_content") == TROOPER_COMPACTION

    def stand_in(self) -> TextBlock | None:
        """What an upstream that cannot read it gets instead: a document's text (a text document)
        or a note that it was left out (a PDF), a search result's text, a note of a tool reference or
        of OpenAI's compaction; nothing for a tool's item."""
        kind = self.item.get("type")
        if self.is_claude_compaction():  # Claude's summary is plain text; a failed one (no summary) is nothing
            summary = self.summary()
            return TextBlock(summary_text(summary)) if summary else None
        if kind == "compaction":
            return TextBlock("[the earlier conversation was compacted by OpenAI; only OpenAI can read its summary]")
        if kind == "search_result":
            texts = [str(part.get("text") or "") for part in self.item.get("content") or [] if isinstance(part, dict)]
            return TextBlock("\n".join([f"[search result: {self.item.get('title')} ({self.item.get('source')})]", *texts]))
        if kind == "tool_reference":
            return TextBlock(f"[tool {self.item.get('tool_name')} is available]")
        if not self.is_document():
            return None
        text = document_text(self.item)
        title = str(self.item.get("title") or "")
        if text:
            return TextBlock(f"[document{': ' + title if title else ''}]\n{text}")
        source = self.item.get("source")
        named = (source.get("media_type") or source.get("url")) if isinstance(source, dict) else None
        what = title or str(named or "a document")
        return TextBlock(f"[document omitted ({what}): this model cannot read it]")


def is_claude_compaction(block: object) -> TypeGuard[HostedToolBlock]:
    """``block`` is a compaction block of Claude's protocol (``HostedToolBlock.is_claude_compaction``)."""
    return isinstance(block, HostedToolBlock) and block.is_claude_compaction()


def document_text(document: dict[str, Any]) -> str:
    """A document's readable text: a text source's data, a content source's text blocks; "" for
    a PDF (base64, URL or file), whose bytes are nobody's text to read or scan."""
    source = document.get("source")
    if not isinstance(source, dict):
        return ""
    if source.get("type") == "text":
        return str(source.get("data") or "")
    content = source.get("content")
    if source.get("type") == "content" and isinstance(content, list):
        return "\n".join(str(part.get("text") or "") for part in content if isinstance(part, dict) and part.get("type") == "text")
    return ""


#: The keys of OpenAI's items and responses whose values are identifiers (minted by OpenAI, by
#: Trooper or by the client), never a person's text: privacy leaves them as they are, so each still
#: names what it names, and spends no scan on their random characters.
IDENTIFIER_KEYS = frozenset({"id", "call_id", "previous_response_id", "tool_use_id"})
#: The keys whose values are a provider's ciphertext (an OpenAI reasoning item's or a Claude web
#: search result's ``encrypted_content``, a Claude citation's ``encrypted_index``): nobody's
#: readable text, and one changed character makes the provider refuse the turn, so privacy never
#: rewrites them.
OPAQUE_KEYS = frozenset({"encrypted_content", "encrypted_index"})
#: What privacy neither masks nor restores in an item: its ids and its ciphertext.
UNREAD_KEYS = IDENTIFIER_KEYS | OPAQUE_KEYS
#: The Responses API's ``include`` value asking for reasoning items' ``encrypted_content``.
ENCRYPTED_REASONING = "reasoning.encrypted_content"

Block = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | HostedToolBlock
#: What a tool result holds.
ToolResultPart = TextBlock | ImageBlock | HostedToolBlock


@dataclass
class Message:
    role: Role
    content: list[Block]

    def text(self) -> str:
        """The plain text of the message (text blocks and tool results), joined."""
        parts: list[str] = []
        for block in self.content:
            if isinstance(block, TextBlock):
                parts.append(block.text)
            elif isinstance(block, ToolResultBlock):
                parts.append(block.text())
        return "\n".join(p for p in parts if p)

    def tool_uses(self) -> list[ToolUseBlock]:
        return [b for b in self.content if isinstance(b, ToolUseBlock)]

    def tool_results(self) -> list[ToolResultBlock]:
        return [b for b in self.content if isinstance(b, ToolResultBlock)]


# ---------------------------------------------------------------- request


@dataclass
class Tool:
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    cache_control: CacheControl | None = None
    #: The client asked that calls' arguments be held to ``input_schema`` (OpenAI's and Claude's
    #: ``strict``): True or False as it said (a Responses API tool that left it out: True), None
    #: when it did not say, which is non-strict wherever it is sent.
    strict: bool | None = None
    #: A Responses API custom tool (one free-form string in, a grammar perhaps) as the client sent
    #: it: OpenAI's Responses API gets it so; every other upstream the function standing for it
    #: (``wire/custom_tools.py``). None for a function tool.
    custom: dict[str, Any] | None = None
    #: A Claude tool's settings only Claude knows (``input_examples``, ``defer_loading``…), as
    #: the client sent them: Claude alone gets them (``wire/anthropic_options.py``).
    anthropic_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolChoice:
    """``auto``: model decides; ``any``: must call some tool; ``tool``: must call ``name``; ``none``."""

    type: Literal["auto", "any", "tool", "none"] = "auto"
    name: str | None = None
    disable_parallel: bool = False


@dataclass
class OutputFormat:
    """Structured output the client asked for: an answer that is JSON matching ``schema`` (OpenAI's
    ``json_schema`` format, Claude's ``output_config.format``, Ollama's ``format``), or any JSON
    object when ``schema`` is None (OpenAI's JSON mode, Ollama's ``"json"``)."""

    schema: dict[str, Any] | None = None
    #: OpenAI's name for the schema (it requires one; other clients send none), and its description.
    name: str = "output"
    description: str | None = None
    #: OpenAI's ``strict`` (the schema is enforced when true); None when the client did not say.
    strict: bool | None = None


#: An OpenAI API, as a body's fields are named in it: Chat Completions or the Responses API.
OpenAIApi = Literal["chat", "responses"]


@dataclass(frozen=True)
class ExtraFields:
    """The fields of an OpenAI door's body that Trooper does not read, as the client sent them: a
    local server's extensions (``min_p``, ``chat_template_kwargs``…) or OpenAI's newest
    parameters, often sent as the SDK's ``extra_body``; and ``api``, the API whose body held them,
    in whose meaning they are named. Who gets them: ``wire/extra_fields.py``.

    Kept apart from ``Request.openai_options``: those are checked settings that OpenAI alone gets
    (a local server may refuse them), each sent to the API that takes its name; these go to a local
    OpenAI-compatible server too, whose extensions they most often are, and a name Trooper does not
    know cannot be sorted by API, so they keep the API that named them."""

    api: OpenAIApi
    fields: dict[str, Any]


@dataclass
class Request:
    """One turn as a client asked for it, in no particular wire format."""

    model: str
    messages: list[Message]
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    stream: bool = False
    #: Client asked for a usage frame at the end of an OpenAI stream.
    include_usage: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Anthropic's extended thinking setting as the client sent it (``{"type": "enabled",
    #: "budget_tokens": N}``); sent on to Claude as it is, and a reason to route to the cloud.
    thinking: dict[str, Any] | None = None
    #: The system prompt as the client's blocks, when it sent blocks (their cache hints with
    #: them); ``system`` is their text joined. Sent as blocks while ``system`` is unchanged.
    system_blocks: list[TextBlock] | None = None
    #: OpenAI's ``prompt_cache_key``, passed on to OpenAI.
    prompt_cache_key: str | None = None
    #: OpenAI's reasoning effort as the client asked for it (the Responses API's
    #: ``reasoning.effort``, Chat Completions' ``reasoning_effort``): sent on to OpenAI's reasoning
    #: models as ``reasoning_effort``. Claude gets ``thinking`` instead, which the Responses door
    #: derives from the effort.
    reasoning_effort: str | None = None
    #: The answer's token log probabilities asked for, with this many likeliest alternatives at
    #: each token (0 to 20); None: not asked. Only some upstreams give them (``Capabilities.logprobs``).
    logprobs: int | None = None
    #: Built-in tools only ``tools_host`` runs (OpenAI's Responses API: ``{"type": "web_search"}``…;
    #: Claude: ``{"type": "web_search_20250305", "name": "web_search"}``…), verbatim: a turn offering
    #: any is answered by that host or refused (``routing/builtin_tools.py``).
    hosted_tools: list[dict[str, Any]] = field(default_factory=list)
    tools_host: ToolHost = "openai"
    #: A ``tool_choice`` naming one of them (``{"type": "web_search"}``), verbatim.
    hosted_tool_choice: dict[str, Any] | None = None
    #: The Responses API's ``reasoning.summary`` (``auto``, ``concise``, ``detailed``) and
    #: ``include`` (``web_search_call.action.sources``…), as the client sent them: passed on to
    #: OpenAI's Responses API, which alone knows them.
    reasoning_summary: str | None = None
    include: list[str] = field(default_factory=list)
    #: Claude's code-execution container to run in (an id from an earlier answer, or its
    #: settings), as the client sent it: Claude alone gets it.
    container: str | dict[str, Any] | None = None
    #: Structured output: every upstream gets it in its own shape (``OutputFormat``).
    output_format: OutputFormat | None = None
    #: OpenAI's ``verbosity`` (``low``, ``medium``, ``high``), passed on to OpenAI, which alone knows it.
    verbosity: str | None = None
    #: Other settings only OpenAI knows (``seed``, ``service_tier``…), as the client sent them:
    #: passed on when OpenAI answers (``wire/openai_options.py``).
    openai_options: dict[str, Any] = field(default_factory=dict)
    #: The fields of an OpenAI door's body Trooper does not read, as sent; None when it held none.
    extra_fields: ExtraFields | None = None
    #: Settings only Claude knows (``context_management``, a top-level ``cache_control``,
    #: ``output_config``'s effort…), as the client sent them: Claude alone gets them
    #: (``wire/anthropic_options.py``).
    anthropic_options: dict[str, Any] = field(default_factory=dict)
    #: The client's API caches every prompt's prefix unasked (OpenAI's two APIs). Claude caches
    #: only what a request marks, so such a turn that marks nothing reaches Claude with its
    #: automatic caching asked for (``TROOPER_CLAUDE_AUTO_CACHE``): no new price for the client.
    caches_unasked: bool = False

    def marks_cache(self) -> bool:
        """The client put a cache hint somewhere: on the request, a system block, a tool or a block
        (a tool result's parts included)."""
        if "cache_control" in self.anthropic_options or any(tool.cache_control for tool in self.tools):
            return True
        if any(block.cache_control for block in self.system_blocks or ()):
            return True
        for message in self.messages:
            for block in message.content:
                if getattr(block, "cache_control", None):
                    return True
                if isinstance(block, ToolResultBlock) and any(getattr(part, "cache_control", None) for part in block.content):
                    return True
        return False

    def system_as_blocks(self) -> list[TextBlock] | None:
        """The client's system blocks, unless the system prompt was changed since (compaction)."""
        blocks = self.system_blocks
        if blocks and "\n\n".join(block.text for block in blocks) == self.system:
            return blocks
        return None

    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text()
        return ""

    def asks_for_compaction(self) -> dict[str, Any] | None:
        """Claude's compaction request (``compaction``: ``{"type": "summarize", "instructions"?}``),
        when the client asks for the conversation compacted rather than answered: Claude answers
        with a compaction block alone; another model is asked for the summary
        (``memory/summary_request.py``)."""
        asked = self.anthropic_options.get("compaction")
        return asked if isinstance(asked, dict) else None

    def asks_for_thinking(self) -> bool:
        """The client asked Claude to think (``enabled``, ``adaptive``); ``{"type": "disabled"}`` says not to."""
        return self.thinking is not None and self.thinking.get("type") != "disabled"

    def forces_tool_call(self) -> bool:
        """The client requires a tool call (any tool, or one named): OpenAI's ``required`` or a
        function, Claude's ``any`` or ``tool``."""
        return bool(self.tools) and self.tool_choice is not None and self.tool_choice.type in ("any", "tool")

    def needs_tools(self) -> bool:
        return bool(self.tools) and (self.tool_choice is None or self.tool_choice.type != "none")

    def _parts(self) -> Iterator[Block]:
        """Every block of every message, and every part of each tool result."""
        for message in self.messages:
            for block in message.content:
                yield block
                if isinstance(block, ToolResultBlock):
                    yield from block.content

    def has_hosted_items(self) -> bool:
        return any(isinstance(part, HostedToolBlock) for part in self._parts())

    def keeps_openai_reasoning(self) -> bool:
        """Whether the client keeps OpenAI's reasoning itself, as a stateless client does
        (``store: false``): it resends OpenAI's reasoning items with their ``encrypted_content``,
        or asks for that content (``include``) to resend it next turn. Only OpenAI's Responses API
        reads them, so such a turn goes there when OpenAI answers it with a reasoning model."""
        if ENCRYPTED_REASONING in self.include:
            return True
        for message in self.messages:  # a plain loop: an agent's history is long, and read each attempt
            if message.role != "assistant":  # where every reasoning item is (the Responses door's decoding)
                continue
            for block in message.content:
                if isinstance(block, ThinkingBlock) and block.resends_openai_reasoning():
                    return True
        return False

    def without_hosted_items(self, keep: ToolHost | None = None, *, documents: bool = False) -> Request:
        """The request as an upstream that cannot read built-in tool items gets it: those items
        dropped (the answers around them stay), but ``keep``'s own (and the documents, with
        ``documents``: an upstream that reads them), and messages left empty by that too. A tool
        result answering a dropped call (older Codex answers its ``local_shell_call`` with a
        ``function_call_output``) becomes a note of that output: as a tool result it would answer
        no call, which Claude and OpenAI refuse (400)."""
        gone = _Dropped(keep, documents)
        calls = {
            part.item["call_id"]: part.item
            for part in self._parts()
            if isinstance(part, HostedToolBlock) and gone(part) and isinstance(part.item.get("call_id"), str)
        }
        kept = _since_compaction(self.messages, claude=keep == "anthropic")
        messages = [Message(m.role, _without_hosted(m.content, gone, calls)) for m in kept]
        return replace(self, messages=[m for m in messages if m.content])

    def documents(self) -> list[dict[str, Any]]:
        """The documents only Claude reads, anywhere in the conversation (in a message or a tool result)."""
        return [part.item for part in self._parts() if isinstance(part, HostedToolBlock) and part.is_document()]

    def has_images(self) -> bool:
        return any(isinstance(part, ImageBlock) for part in self._parts())


@dataclass(frozen=True)
class _Dropped:
    """Whether a block is a hosted item an upstream goes without: one of another host than
    ``keep`` (or a compaction Trooper made), but a document when ``documents`` (an upstream that
    reads them)."""

    keep: ToolHost | None
    documents: bool

    def __call__(self, block: object) -> bool:
        if not isinstance(block, HostedToolBlock) or (self.documents and block.is_document()):
            return False
        return block.host != self.keep or block.made_by_trooper()  # no Claude signed Trooper's compactions


def _since_compaction(messages: list[Message], *, claude: bool) -> list[Message]:
    """The conversation as Claude reads it when it holds compaction blocks, for a model that
    cannot read them (any but Claude; for Claude, those Trooper made): the last one with a
    summary stands for everything before it, so that summary opens the conversation as a user's
    turn, then comes what followed the block. A compaction that failed (no summary) changes
    nothing, as for Claude."""
    for at in range(len(messages) - 1, -1, -1):
        blocks = messages[at].content
        for i in range(len(blocks) - 1, -1, -1):
            block = blocks[i]
            if not is_claude_compaction(block) or (claude and not block.made_by_trooper()):
                continue
            summary = block.stand_in()
            if summary is None:
                continue
            after = [Message(messages[at].role, blocks[i + 1 :]), *messages[at + 1 :]]
            after = [message for message in after if message.content]
            if after and after[0].role == "user":  # one user turn, not two in a row
                return [Message("user", [summary, *after[0].content]), *after[1:]]
            return [Message("user", [summary]), *after]
    return messages


def _without_hosted(blocks: list[Block], dropped: _Dropped, calls: dict[str, dict[str, Any]]) -> list[Block]:
    """``blocks`` but the ``dropped`` hosted items: a document becomes its stand-in (its text, or a
    note), a tool's item goes; a tool result's parts alike. A tool result answering one of the
    dropped ``calls`` becomes a note of its output, after the message's other tool results
    (Claude takes a user turn's text only after them)."""

    def instead(block: HostedToolBlock) -> list[TextBlock]:
        stand_in = block.stand_in()
        return [stand_in] if stand_in is not None else []

    def parts_of(result: ToolResultBlock) -> list[ToolResultPart]:
        return [new for part in result.content for new in (instead(part) if isinstance(part, HostedToolBlock) and dropped(part) else [part])]

    kept: list[Block] = []
    notes: list[Block] = []
    notes_at = 0
    for block in blocks:
        if isinstance(block, HostedToolBlock) and dropped(block):
            kept += instead(block)
        elif isinstance(block, ToolResultBlock) and block.tool_use_id in calls:
            notes_at = notes_at if notes else len(kept)
            notes += _output_note(calls[block.tool_use_id], replace(block, content=parts_of(block)))
        elif isinstance(block, ToolResultBlock) and any(map(dropped, block.content)):
            kept.append(replace(block, content=parts_of(block)))
        else:
            kept.append(block)
    if notes:
        after_results = max((i + 1 for i, block in enumerate(kept) if isinstance(block, ToolResultBlock)), default=0)
        at = max(notes_at, after_results)
        kept[at:at] = notes
    return kept


def _output_note(call: dict[str, Any], result: ToolResultBlock) -> list[Block]:
    """A built-in call's output as the conversation's text, saying which call it answers (its
    type and what it was asked to do: the call itself is gone), then the output's other parts."""
    asked = {key: value for key, value in call.items() if key not in ("type", "id", "call_id", "status")}
    error = " (an error)" if result.is_error else ""
    header = f"[output{error} of {call.get('type')} {json.dumps(asked, ensure_ascii=False)}]"
    text = result.text()
    others: list[Block] = [part for part in result.content if not isinstance(part, TextBlock)]
    return [TextBlock(f"{header}\n{text}" if text else header), *others]


# ---------------------------------------------------------------- response


@dataclass
class Usage:
    """Tokens of a turn, in Anthropic's terms: ``input_tokens`` excludes the prompt tokens written
    to or read from a provider's cache, which are counted apart."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    #: Of ``output_tokens``, those spent reasoning, when the provider counts them apart (OpenAI's
    #: ``reasoning_tokens``; Claude counts thinking in ``output_tokens`` only).
    reasoning_tokens: int = 0
    #: The rest of Claude's usage object, as Claude reported it: the cache writes by lifetime
    #: (``cache_creation``), the server tools' requests (``server_tool_use``), the compactions'
    #: tokens (``iterations``), ``service_tier``… Cost trackers read them; an Anthropic client gets
    #: them back. Added or merged, a later report's keys win (a stitched answer keeps its last
    #: Claude segment's).
    claude: dict[str, Any] = field(default_factory=dict)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            {**self.claude, **other.claude},
        )

    def merged(self, later: Usage) -> Usage:
        """These counts updated by a later report of the same turn (a stream's message_delta may
        restate some): a count the later report leaves at zero keeps its earlier value."""
        return Usage(
            later.input_tokens or self.input_tokens,
            later.output_tokens or self.output_tokens,
            later.cache_creation_input_tokens or self.cache_creation_input_tokens,
            later.cache_read_input_tokens or self.cache_read_input_tokens,
            later.reasoning_tokens or self.reasoning_tokens,
            {**self.claude, **later.claude},
        )

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token, cached or not (OpenAI's ``prompt_tokens``)."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


@dataclass
class Response:
    id: str
    model: str
    content: list[Block]
    stop_reason: StopReason = "end_turn"
    stop_sequence: str | None = None
    usage: Usage = field(default_factory=Usage)
    #: The code-execution container Claude ran in (``{"id": …, "expires_at": …}``), which the
    #: client names in its next request to run there again.
    container: dict[str, Any] | None = None
    #: The answer's tokens with their log probabilities, when asked for and given, in OpenAI's
    #: shape (``{"token", "logprob", "bytes", "top_logprobs": [...]}`` each); kept off the store.
    logprobs: list[dict[str, Any]] | None = None

    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))


def derive_stop_reason(content: list[Block], reported: str | None) -> StopReason:
    """The stop reason a client should see, derived from what was actually emitted.

    Upstreams lie (Ollama reports ``stop`` on a tool call): a tool call always means ``tool_use``,
    and a reported ``tool_use`` without a tool call is a normal end of turn.
    """
    if any(isinstance(b, ToolUseBlock) for b in content):
        return "tool_use"
    if reported in STOP_REASONS and reported != "tool_use":
        return reported  # type: ignore[return-value]  # one of STOP_REASONS, as checked
    return "end_turn"


def new_message_id(prefix: str = "msg_") -> str:
    return prefix + secrets.token_hex(12)


def new_tool_use_id() -> str:
    return "toolu_" + secrets.token_hex(12)


# ---------------------------------------------------------------- stream events


@dataclass
class MessageStart:
    id: str
    model: str
    usage: Usage = field(default_factory=Usage)


@dataclass
class BlockStart:
    """A content block opens. ``block`` carries its fixed parts: an empty ``TextBlock``, a
    ``ToolUseBlock`` with id and name (input arrives as JSON deltas), or an empty ``ThinkingBlock``."""

    index: int
    block: TextBlock | ToolUseBlock | ThinkingBlock | HostedToolBlock


@dataclass
class TextDelta:
    index: int
    text: str
    #: The log probabilities of this text's tokens (``Response.logprobs``), when asked for and given.
    logprobs: list[dict[str, Any]] | None = None


@dataclass
class ToolInputDelta:
    """A fragment of a tool call's arguments, as JSON text split anywhere."""

    index: int
    partial_json: str


@dataclass
class ThinkingDelta:
    index: int
    thinking: str


@dataclass
class TextAnnotation:
    """An annotation of a text block (OpenAI's ``response.output_text.annotation.added``)."""

    index: int
    annotation: dict[str, Any]


@dataclass
class TextCitation:
    """A citation of a text block (Anthropic's ``citations_delta``)."""

    index: int
    citation: dict[str, Any]


@dataclass
class HostedToolProgress:
    """Progress of a built-in tool call OpenAI runs (``response.web_search_call.searching``…),
    passed through: ``kind`` is the event's type, ``fields`` its own fields but its numbering."""

    index: int
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class HostedToolUpdate:
    """An OpenAI item as it now stands (its ``output_item.done``): a built-in tool call's,
    replacing the one its ``BlockStart`` carried, or a reasoning item's, kept on its thinking
    block (``openai_item``: its ``encrypted_content`` is whole only now)."""

    index: int
    item: dict[str, Any]


@dataclass
class BlockStop:
    index: int
    #: The block's signature when it arrives last (Anthropic streams a thinking block's signature
    #: at its end); the next request must carry it.
    signature: str | None = None


@dataclass
class MessageDelta:
    stop_reason: StopReason
    usage: Usage = field(default_factory=Usage)
    stop_sequence: str | None = None
    #: Set when another model finished an answer that a failed one started (a rescued stream),
    #: so the final event tells the client who really answered.
    answered_by: str | None = None
    #: Claude's code-execution container (``Response.container``).
    container: dict[str, Any] | None = None


@dataclass
class MessageStop:
    pass


@dataclass
class StreamError:
    """The stream failed and nothing could rescue it; encoders emit a protocol-valid error."""

    error_type: str
    message: str
    status: int = 500

    def __post_init__(self) -> None:
        self.message = redact(self.message)  # an upstream's words, on their way to a client


StreamEvent = (
    MessageStart | BlockStart | TextDelta | ToolInputDelta | ThinkingDelta | BlockStop | MessageDelta | MessageStop | StreamError
    | TextAnnotation | TextCitation | HostedToolProgress | HostedToolUpdate
)
#: A stream of events as providers and the router yield them: an async generator, so whoever
#: reads one can ``aclose()`` it (and so stop the upstream) when its own client leaves.
EventStream = AsyncGenerator[StreamEvent, None]


class StreamAccumulator:
    """Folds stream events into a ``Response``; used by tests, the recorder and the router."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.blocks: dict[int, Block] = {}
        self._json: dict[int, list[str]] = {}
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.usage = Usage()
        self.error: StreamError | None = None
        self.container: dict[str, Any] | None = None
        self.logprobs: list[dict[str, Any]] | None = None
        self.finished = False
        self.emitted_output = False

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, MessageStart):
            self.id, self.model = event.id, event.model
            self.usage = replace(event.usage)
        elif isinstance(event, BlockStart):
            block = event.block
            if isinstance(block, TextBlock):
                self.blocks[event.index] = TextBlock(block.text)
            elif isinstance(block, ThinkingBlock):
                self.blocks[event.index] = replace(block)
            elif isinstance(block, HostedToolBlock):
                self.blocks[event.index] = HostedToolBlock(dict(block.item), host=block.host)
                self._json[event.index] = []  # Claude streams a server tool's input as JSON deltas
                self.emitted_output = True
            else:
                self.blocks[event.index] = ToolUseBlock(block.id, block.name, {}, signature=block.signature, claude_fields=block.claude_fields)
                self._json[event.index] = []
                self.emitted_output = True
        elif isinstance(event, TextDelta):
            text_block = self.blocks[event.index]
            assert isinstance(text_block, TextBlock)
            text_block.text += event.text
            self.emitted_output = self.emitted_output or bool(event.text)
            if event.logprobs is not None:
                self.logprobs = self.logprobs if self.logprobs is not None else []
                self.logprobs.extend(event.logprobs)
        elif isinstance(event, ThinkingDelta):
            thinking_block = self.blocks[event.index]
            assert isinstance(thinking_block, ThinkingBlock)
            thinking_block.thinking += event.thinking
        elif isinstance(event, ToolInputDelta):
            self._json[event.index].append(event.partial_json)
        elif isinstance(event, TextAnnotation):
            annotated = self.blocks[event.index]
            assert isinstance(annotated, TextBlock)
            annotated.annotations = [*(annotated.annotations or []), event.annotation]
        elif isinstance(event, TextCitation):
            cited = self.blocks[event.index]
            assert isinstance(cited, TextBlock)
            cited.citations = [*(cited.citations or []), event.citation]
        elif isinstance(event, HostedToolUpdate):
            updated = self.blocks.get(event.index)
            if isinstance(updated, ThinkingBlock):
                updated.openai_item = dict(event.item)
            else:
                host = updated.host if isinstance(updated, HostedToolBlock) else "openai"
                self.blocks[event.index] = HostedToolBlock(dict(event.item), host=host)
        elif isinstance(event, BlockStop):
            stopped = self.blocks.get(event.index)
            if isinstance(stopped, (ThinkingBlock, ToolUseBlock)) and event.signature:
                stopped.signature = event.signature
            if isinstance(stopped, ToolUseBlock):
                raw = "".join(self._json.get(event.index, []))
                stopped.input = json_text.loads(raw) if raw.strip() else {}
            elif isinstance(stopped, HostedToolBlock):
                raw = "".join(self._json.pop(event.index, []))
                if raw.strip():  # a server tool's input, streamed after its start
                    stopped.item["input"] = json_text.loads(raw)
        elif isinstance(event, MessageDelta):
            self.stop_reason = event.stop_reason
            self.stop_sequence = event.stop_sequence
            self.usage = self.usage.merged(event.usage)
            self.container = event.container or self.container
        elif isinstance(event, MessageStop):
            self.finished = True
        elif isinstance(event, StreamError):
            self.error = event

    def response(self) -> Response:
        content = [self.blocks[i] for i in sorted(self.blocks)]
        return Response(
            id=self.id or new_message_id(),
            model=self.model,
            content=content,
            stop_reason=derive_stop_reason(content, self.stop_reason),
            stop_sequence=self.stop_sequence,
            usage=self.usage,
            container=self.container,
            logprobs=self.logprobs,
        )


def response_events(response: Response) -> list[StreamEvent]:
    """A complete response replayed as a stream (for upstreams that cannot stream)."""
    events: list[StreamEvent] = [MessageStart(response.id, response.model, Usage(response.usage.input_tokens, 0))]
    index = 0
    logprobs = response.logprobs  # the answer's, with its first text
    for block in response.content:
        if isinstance(block, TextBlock):
            events += [BlockStart(index, TextBlock("")), TextDelta(index, block.text, logprobs)]
            logprobs = None
            events += [TextAnnotation(index, annotation) for annotation in block.annotations or []]
            events += [TextCitation(index, citation) for citation in block.citations or []]
            events.append(BlockStop(index))
        elif isinstance(block, HostedToolBlock):
            events += [BlockStart(index, block), HostedToolUpdate(index, block.item), BlockStop(index)]
        elif isinstance(block, ToolUseBlock):
            events += [
                BlockStart(index, ToolUseBlock(block.id, block.name, {}, signature=block.signature, claude_fields=block.claude_fields)),
                ToolInputDelta(index, json.dumps(block.input)),
                BlockStop(index),
            ]
        elif isinstance(block, ThinkingBlock):
            events.append(BlockStart(index, replace(block, thinking="")))
            events += [ThinkingDelta(index, block.thinking)] if block.thinking else []
            # OpenAI's item as a stream gives it: whole at its end (and not an empty block to drop)
            events += [HostedToolUpdate(index, block.openai_item)] if block.openai_item else []
            events.append(BlockStop(index))
        else:
            continue
        index += 1
    events += [
        MessageDelta(
            derive_stop_reason(response.content, response.stop_reason), response.usage, response.stop_sequence,
            container=response.container,
        ),
        MessageStop(),
    ]
    return events


# ---------------------------------------------------------------- plain-data form (store, JSON APIs)


def _provider_only(block: Block, key: str) -> bool:
    """Fields only some providers fill, shown only when set: a tool call's signature (Gemini),
    redacted thinking (Claude), text annotations, a reasoning summary and its item (OpenAI). A
    thinking block's own signature is always shown."""
    return key in ("redacted", "annotations", "citations", "summary", "openai_item", "claude_fields") or (
        key == "signature" and isinstance(block, ToolUseBlock)
    )


def block_to_dict(block: Block) -> dict[str, Any]:
    """A block as plain JSON-able data (``type`` first), as stored and shown by the APIs. Cache
    hints are left out: they say how a request travelled, not what the conversation holds."""
    data = {"type": block.type}
    for key, value in block.__dict__.items():
        if key in ("type", "cache_control") or (value in (None, False) and _provider_only(block, key)):
            continue
        if key == "host" and value == "openai":
            continue  # the host of every built-in tool item before Claude's server tools came
        if key == "content" and isinstance(block, ToolResultBlock):
            value = [block_to_dict(b) for b in block.content]
        data[key] = value
    return data


def block_from_dict(data: dict[str, Any]) -> Block:
    """The inverse of ``block_to_dict``; unknown types raise ``ValueError``."""
    kind = data.get("type")
    fields = {k: v for k, v in data.items() if k != "type"}
    if kind == "text":
        return TextBlock(**fields)
    if kind == "image":
        return ImageBlock(**fields)
    if kind == "tool_use":
        return ToolUseBlock(**fields)
    if kind == "thinking":
        return ThinkingBlock(**fields)
    if kind == "hosted_tool":
        return HostedToolBlock(**fields)
    if kind == "tool_result":
        inner = [block_from_dict(b) for b in fields.pop("content", [])]
        return ToolResultBlock(content=[b for b in inner if isinstance(b, (TextBlock, ImageBlock, HostedToolBlock))], **fields)
    raise ValueError(f"unknown block type {kind!r}")


def message_to_dict(message: Message) -> dict[str, Any]:
    return {"role": message.role, "content": [block_to_dict(b) for b in message.content]}


def message_from_dict(data: dict[str, Any]) -> Message:
    role: Role = "assistant" if data.get("role") == "assistant" else "user"
    return Message(role, [block_from_dict(b) for b in data.get("content", [])])
