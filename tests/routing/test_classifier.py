"""The classifier: a table of realistic turns, the structural rules, and forced routes."""

from __future__ import annotations

import pytest

from trooper.conversation import ImageBlock, Message, Request, TextBlock, Tool, ToolChoice, ToolResultBlock
from trooper.errors import InvalidRequest
from trooper.routing.classifier import Classification, classify, classify_text, forced_route


def user(text: str) -> Message:
    return Message("user", [TextBlock(text)])


def request(*messages: Message, tools: list[Tool] | None = None, tool_choice: ToolChoice | None = None) -> Request:
    return Request(model="claude-haiku-4-5", messages=list(messages), tools=tools or [], tool_choice=tool_choice)


SIMPLE = "simple turn"
LONG = "long turn"

TURNS: list[tuple[str, str, str]] = [
    # the original Trooper's examples
    ("how many days in a week", "local", SIMPLE),
    ("explain why goroutines are better than threads", "cloud", "risk word: explain"),
    # safe patterns
    ("How many ounces are in a pound?", "local", SIMPLE),
    ("calculate 15% of 80", "local", SIMPLE),
    ("Convert 100 fahrenheit to celsius", "local", SIMPLE),
    ("define serendipity", "local", SIMPLE),
    ("What does 'ubiquitous' mean?", "local", SIMPLE),
    ("what is the capital of Australia", "local", SIMPLE),
    ("What's 12 times 13?", "local", SIMPLE),
    ("what’s the boiling point of water", "local", SIMPLE),
    ("Fix the grammar: me and him goes to the store yesterday", "local", SIMPLE),
    ("translate 'good night' into Spanish", "local", SIMPLE),
    ("remind me what a haiku is", "local", SIMPLE),
    ("can you repeat that", "local", SIMPLE),
    ("give me an example of an adverb", "local", SIMPLE),
    ("how do you spell necessary", "local", SIMPLE),
    ("a synonym for happy?", "local", SIMPLE),
    ("who wrote Pride and Prejudice", "local", SIMPLE),
    ("when was the Eiffel Tower built", "local", SIMPLE),
    ("where is Timbuktu", "local", SIMPLE),
    ("how much is a dozen", "local", SIMPLE),
    ("How do you say thank you in Japanese", "local", SIMPLE),
    ("list three primary colors", "local", SIMPLE),
    ("what is the function of the liver", "local", SIMPLE),
    ("what is the class of animal a whale belongs to", "local", SIMPLE),
    ("Which word rhymes with orange?", "local", SIMPLE),
    # greetings and thanks are simple only when they are the whole turn
    ("hi", "local", SIMPLE),
    ("Hello there!", "local", SIMPLE),
    ("thanks!", "local", SIMPLE),
    ("Thank you so much", "local", SIMPLE),
    ("good morning", "local", SIMPLE),
    ("bye for now", "local", SIMPLE),
    ("hello, can you set up a kubernetes cluster for our staging environment", "cloud", "technical: kubernetes"),
    # risk words, on word boundaries and in their usual forms
    ("Why is the sky blue?", "cloud", "risk word: why"),
    ("WHY", "cloud", "risk word: why"),
    ("can you explain monads", "cloud", "risk word: explain"),
    ("what is the explanation for tides", "cloud", "risk word: explain"),
    ("Should I use Postgres or MySQL?", "cloud", "risk word: should I"),
    ("help me debug this", "cloud", "risk word: debug"),
    ("solve x^2 = 4 step by step", "cloud", "risk word: step by step"),
    ("walk me through setting up a VPN", "cloud", "risk word: walk me through"),
    ("summarise this article", "cloud", "risk word: summarize"),
    ("Summarize the meeting notes", "cloud", "risk word: summarize"),
    ("analyze the sales figures", "cloud", "risk word: analyze"),
    ("compare Rust and Go", "cloud", "risk word: compare"),
    ("what is the difference between TCP and UDP", "cloud", "risk word: difference between"),
    ("design a schema for a library system", "cloud", "risk word: design"),
    ("refactor my essay outline", "cloud", "risk word: refactor"),
    ("review my cover letter", "cloud", "risk word: review"),
    ("prove that root 2 is irrational", "cloud", "risk word: prove"),
    ("what is the reason for leap years", "cloud", "risk word: reason"),
    ("what is the best way to learn piano", "cloud", "risk word: best way"),
    ("my wifi is not working", "cloud", "risk word: not working"),
    ("what is the pros and cons of remote work", "cloud", "risk word: pros and cons"),
    # words that only contain a risk word stay simple
    ("what is a reasonable price for a used bike", "local", SIMPLE),
    ("define whyever", "local", SIMPLE),
    ("what does redesigned mean", "local", SIMPLE),
    ("how many reviewers are there", "local", SIMPLE),
    # code forces the cloud
    ("```python\nprint('hi')\n```", "cloud", "code"),
    ("def add(a, b): return a + b", "cloud", "code"),
    ("what does function foo() { return 1 } do", "cloud", "code"),
    ("class Foo(Base): pass", "cloud", "code"),
    ("import numpy as np", "cloud", "code"),
    ("from collections import deque", "cloud", "code"),
    ('Traceback (most recent call last):\n  File "app.py", line 3, in <module>', "cloud", "code"),
    ("TypeError: undefined is not a function", "cloud", "code"),
    ("what is in src/server/main.go", "cloud", "code"),
    ("what does package.json hold", "cloud", "code"),
    ("let x = 5;", "cloud", "code"),
    ("what does x == y return", "cloud", "code"),
    ("what does print() do", "cloud", "code"),
    ("what is <div class='a'>", "cloud", "code"),
    ("$ npm install fails", "cloud", "code"),
    ("panic: runtime error: index out of range", "cloud", "code"),
    # length limits
    ("what is " + "very " * 20 + "big", "cloud", LONG),
    ("what is " + "x" * 300, "cloud", LONG),
    ("what is " + "é" * 150, "cloud", LONG),  # 300 bytes of UTF-8 in 150 characters
    # everything else
    ("write a poem about autumn", "cloud", "not simple"),
    ("tell me a story", "cloud", "not simple"),
    ("   ", "cloud", "empty turn"),
]


def test_the_table_is_large_enough() -> None:
    assert len(TURNS) >= 60


@pytest.mark.parametrize(("text", "route", "reason"), TURNS, ids=[t[0][:40] for t in TURNS])
def test_turn_table(text: str, route: str, reason: str) -> None:
    assert classify(request(user(text)), local_supports_tools=True) == Classification(route, reason)  # type: ignore[arg-type]


def test_only_the_last_user_turn_counts() -> None:
    history = [user("explain why my Rust code does not compile: fn main() {}"), Message("assistant", [TextBlock("...")])]
    assert classify(request(*history, user("thanks!")), local_supports_tools=True).route == "local"
    assert classify(request(user("hi"), Message("assistant", [TextBlock("hello")]), user("why?")), local_supports_tools=True).route == "cloud"


def test_trailing_assistant_prefill_is_ignored() -> None:
    req = request(user("how many legs does a spider have"), Message("assistant", [TextBlock("A spider has")]))
    assert classify(req, local_supports_tools=True) == Classification("local", SIMPLE)


def test_tool_results_go_to_the_cloud() -> None:
    turn = Message("user", [ToolResultBlock("toolu_1", [TextBlock("42")]), TextBlock("thanks")])
    assert classify(request(turn), local_supports_tools=True) == Classification("cloud", "tool results")


def test_images_go_to_the_cloud() -> None:
    turn = Message("user", [ImageBlock(data="aGk="), TextBlock("what is this")])
    assert classify(request(turn), local_supports_tools=True) == Classification("cloud", "images")


def test_tools_go_to_the_cloud_when_the_local_model_cannot_call_them() -> None:
    tools = [Tool("get_weather")]
    assert classify(request(user("hi"), tools=tools), local_supports_tools=False) == Classification("cloud", "tools needed")
    assert classify(request(user("hi"), tools=tools), local_supports_tools=True) == Classification("local", SIMPLE)
    no_calls = ToolChoice(type="none")
    assert classify(request(user("hi"), tools=tools, tool_choice=no_calls), local_supports_tools=False).route == "local"


@pytest.mark.parametrize("choice", [ToolChoice("any"), ToolChoice("tool", "get_weather")], ids=["required", "named"])
def test_a_forced_tool_call_goes_to_the_cloud(choice: ToolChoice) -> None:
    # The local model (Ollama) takes no tool choice: it would answer a simple turn in words.
    forced = request(user("hi"), tools=[Tool("get_weather")], tool_choice=choice)
    assert classify(forced, local_supports_tools=True) == Classification("cloud", "tool call forced")
    assert classify(request(user("hi"), tool_choice=choice), local_supports_tools=True).route == "local", "no tool to force"
    chosen = request(user("hi"), tools=[Tool("get_weather")], tool_choice=ToolChoice("auto"))
    assert classify(chosen, local_supports_tools=True) == Classification("local", SIMPLE), "the model's choice is not a force"


@pytest.mark.parametrize(
    ("thinking", "route"),
    [({"type": "enabled", "budget_tokens": 1024}, "cloud"), ({"type": "adaptive"}, "cloud"), ({"type": "disabled"}, "local")],
)
def test_thinking_asked_for_goes_to_the_cloud_and_thinking_turned_off_does_not(thinking: dict, route: str) -> None:
    # Turning thinking off is no reason to escalate a simple turn.
    request = Request(model="claude-haiku-4-5", messages=[Message("user", [TextBlock("thanks!")])], thinking=thinking)
    assert classify(request, local_supports_tools=True).route == route


def test_no_user_turn_goes_to_the_cloud() -> None:
    assert classify(request(), local_supports_tools=True) == Classification("cloud", "no user turn")


def test_classify_text_is_the_text_rules_alone() -> None:
    assert classify_text("how many days in a week") == Classification("local", SIMPLE)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, {}, None),
        ({"X-Trooper-Route": "local"}, {}, "local"),
        ({"x-trooper-route": " Cloud "}, {}, "cloud"),
        ({"X-Force-Local": "true"}, {}, "local"),
        ({"x-force-local": "1"}, {}, "local"),
        ({"X-Force-Local": "false"}, {}, None),
        ({}, {"x_force_local": True}, "local"),
        ({}, {"x_force_local": "true"}, "local"),
        ({}, {"x_force_local": False}, None),
        ({"X-Trooper-Route": "cloud", "X-Force-Local": "true"}, {"x_force_local": True}, "cloud"),
    ],
)
def test_forced_route(headers: dict[str, str], body: dict[str, object], expected: str | None) -> None:
    assert forced_route(headers, body) == expected


def test_an_unknown_forced_route_is_a_clear_400() -> None:
    with pytest.raises(InvalidRequest, match="X-Trooper-Route must be 'local' or 'cloud', got 'gpu'"):
        forced_route({"X-Trooper-Route": "gpu"}, {})
