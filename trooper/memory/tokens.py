"""The one token estimator: every budget in Trooper is counted with these functions.

A real BPE tokenizer is model-specific and slow to load; budgets only need a close, stable,
slightly pessimistic estimate. The text is mapped to character classes with one
``bytes.translate`` and the estimate is a linear formula over class and class-pair counts
(``bytes.count`` runs in C), so the cost is linear, allocation-light and free of regexes.

The coefficients were fitted against the SmolLM2 byte-level BPE (49k vocabulary) on English
prose and source code; ``tests/memory/test_tokens.py`` checks the ±15% bound on its own samples.

Counting still reads every byte about a dozen times (~16 ns a character), and a turn counts its
whole history twice (the prompt limit, then compaction) while an agent resends that history with
every turn: a long text's count is remembered by its hash and length. The second count of a turn
then costs a dictionary look-up (a ``str`` keeps its hash), and a resent text one hash (~2 ns a
character) instead of a count.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Iterable

from trooper.conversation import (
    HostedToolBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
    document_text,
)


def _class_table() -> bytes:
    # a: lowercase letter, A: uppercase letter, 0: digit, s: blank, n: newline, u: underscore,
    # .: other ASCII punctuation, ~: any byte of a non-ASCII character.
    table = bytearray(b"." * 256)
    for code in range(256):
        char = chr(code)
        if code >= 0x80:
            table[code] = ord("~")
        elif "a" <= char <= "z":
            table[code] = ord("a")
        elif "A" <= char <= "Z":
            table[code] = ord("A")
        elif char.isdigit():
            table[code] = ord("0")
        elif char in " \t\r\f\v":
            table[code] = ord("s")
        elif char == "_":
            table[code] = ord("u")
        elif char == "\n":
            table[code] = ord("n")
    return bytes(table)


_CLASSES = _class_table()
# Second pass: letters against everything else, so a word start is one two-byte pattern.
_LETTERS = bytes(ord("a") if chr(code) in "aA" else ord(" ") for code in range(256))

# Fitted coefficients (weighted least squares on relative error); each weighs the count it names.
_PER_WORD = 0.82  # a run of letters: most English words are one token
_PER_LETTER = 0.049  # long words and identifiers split into several tokens
_PER_CAMEL_HUMP = 1.16  # lowerUpper boundary inside an identifier
_PER_CAPITAL_PAIR = 0.52  # ACRONYMS and CONSTANT_NAMES tokenise worse than lowercase
_PER_DIGIT = 1.46  # pessimistic: some tokenizers split every digit
_PER_PUNCT = 1.15
_PER_PUNCT_PAIR = -1.23  # "):", "()", "==": adjacent punctuation often merges into one token
_PER_UNDERSCORE = 0.65
_PER_NEWLINE = 0.73
_PER_NON_ASCII_BYTE = 0.7

#: Framing each message costs in chat templates (role markers, separators).
MESSAGE_OVERHEAD = 4
#: Framing of a whole request (system marker, assistant priming).
REQUEST_OVERHEAD = 3
#: A tool definition's framing besides its name, description and schema.
TOOL_OVERHEAD = 8
#: An image, counted like the largest image the cloud APIs bill without downscaling.
IMAGE_TOKENS = 1600
#: A PDF's bytes per token, for a document sent as base64 (a URL's or a file's size is unknown:
#: counted as one page).
PDF_BYTES_PER_TOKEN = 40


#: Texts at least this long have their count remembered (a shorter one costs less to count than
#: to look up), and how many counts are remembered, least recently used forgotten first.
REMEMBERED_MIN_CHARS = 256
REMEMBERED_COUNTS = 65536
_remembered: OrderedDict[tuple[int, int], int] = OrderedDict()


def count_tokens(text: str) -> int:
    """Estimated BPE tokens of ``text``: ``0`` for the empty string, at least ``1`` otherwise."""
    if len(text) < REMEMBERED_MIN_CHARS:
        return _count(text) if text else 0
    # Python's str hash is keyed per process (SipHash): two texts of one length sharing it by
    # chance is a 2^-64 event, and would only misestimate a count.
    key = (hash(text), len(text))
    count = _remembered.pop(key, None)  # taken out and put back: the most recently used is last
    if count is None:
        count = _count(text)
    _remembered[key] = count
    if len(_remembered) > REMEMBERED_COUNTS:
        _remembered.popitem(last=False)
    return count


def _count(text: str) -> int:
    classes = text.encode("utf-8", "surrogatepass").translate(_CLASSES)
    letters = classes.translate(_LETTERS)
    count = classes.count
    estimate = (
        _PER_WORD * (letters.count(b" a") + letters.startswith(b"a"))
        + _PER_LETTER * letters.count(b"a")
        + _PER_CAMEL_HUMP * count(b"aA")
        + _PER_CAPITAL_PAIR * count(b"AA")
        + _PER_DIGIT * count(b"0")
        + _PER_PUNCT * count(b".")
        + _PER_PUNCT_PAIR * count(b"..")
        + _PER_UNDERSCORE * count(b"u")
        + _PER_NEWLINE * count(b"n")
        + _PER_NON_ASCII_BYTE * count(b"~")
    )
    return max(1, round(estimate))


def _block_tokens(block: object) -> int:
    if isinstance(block, TextBlock):
        return count_tokens(block.text)
    if isinstance(block, ThinkingBlock):
        return count_tokens(block.thinking)
    if isinstance(block, ToolUseBlock):
        return count_tokens(block.name) + count_tokens(json.dumps(block.input, ensure_ascii=False)) + 3
    if isinstance(block, ToolResultBlock):
        return 3 + sum(_block_tokens(inner) for inner in block.content)
    if isinstance(block, ImageBlock):
        return IMAGE_TOKENS
    if isinstance(block, HostedToolBlock) and block.is_document():
        return _document_tokens(block.item)
    return 0


def _document_tokens(document: dict[str, Any]) -> int:
    """A document's tokens: its text's, or a PDF's by its size (Claude reads each page as text and
    as an image: ~1,500–3,000 tokens a page, a page ~50–100 kB)."""
    text = document_text(document)
    if text:
        return count_tokens(text)
    source = document.get("source")
    data = source.get("data") if isinstance(source, dict) else None
    return max(IMAGE_TOKENS, len(data) * 3 // 4 // PDF_BYTES_PER_TOKEN) if isinstance(data, str) else IMAGE_TOKENS


def count_message_tokens(message: Message) -> int:
    """Estimated tokens of one message, its framing included."""
    return MESSAGE_OVERHEAD + sum(_block_tokens(block) for block in message.content)


def count_tool_tokens(tool: Tool) -> int:
    schema = json.dumps(tool.input_schema, ensure_ascii=False, separators=(",", ":"))
    return TOOL_OVERHEAD + count_tokens(tool.name) + count_tokens(tool.description) + count_tokens(schema)


def count_request_tokens(system: str | None, messages: Iterable[Message], tools: Iterable[Tool] = ()) -> int:
    """Estimated prompt tokens of a whole request: system prompt, messages and tool definitions.

    Additive by construction: the sum of its parts' counts plus ``REQUEST_OVERHEAD``, so callers
    that budget part by part get exactly what this returns for the assembled request.
    """
    return (
        REQUEST_OVERHEAD
        + count_tokens(system or "")
        + sum(count_message_tokens(m) for m in messages)
        + sum(count_tool_tokens(t) for t in tools)
    )
