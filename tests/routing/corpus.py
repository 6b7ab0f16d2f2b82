"""The labelled routing turns (tests/data/routing/{dev,test}.jsonl) and how the classifier is scored.

Each line is a turn and, optionally, the shape of the request it came in (tests/data/LABELLING.md);
``request_of`` builds that request in the canonical model, so the classifier is judged on what a
front door would hand it. Run ``python -m tests.routing.corpus [--test]`` for the figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from trooper.conversation import ImageBlock, Message, Request, TextBlock, Tool, ToolResultBlock, ToolUseBlock

ROUTING_DIR = Path(__file__).parent.parent / "data" / "routing"
#: The local tier routes are judged against: an Ollama model that can call tools (the harder case:
#: "the local model cannot call tools" decides nothing).
LOCAL_SUPPORTS_TOOLS = True


@dataclass(frozen=True)
class LabelledTurn:
    id: str
    lang: str
    text: str
    route: str
    shape: dict[str, Any]


def load_turns(split: str) -> list[LabelledTurn]:
    turns = []
    for line in (ROUTING_DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            turns.append(LabelledTurn(data["id"], data["lang"], data["text"], data["route"], data.get("shape") or {}))
    return turns


def request_of(turn: LabelledTurn) -> Request:
    shape = turn.shape
    history: list[Message] = []
    for index in range(int(shape.get("history") or 0)):
        role = "user" if index % 2 == 0 else "assistant"
        history.append(Message(role, [TextBlock(f"earlier {role} message {index}")]))
    if history and history[-1].role == "user":
        history.append(Message("assistant", [TextBlock("earlier answer")]))
    if shape.get("tool_result"):
        history.append(Message("assistant", [ToolUseBlock("toolu_corpus", "Bash", {"command": "run"})]))
        content: list[Any] = [ToolResultBlock("toolu_corpus", [TextBlock(turn.text)])]
    else:
        content = [TextBlock(turn.text)]
    if shape.get("image"):
        content.insert(0, ImageBlock("image/png", data="iVBORw0KGgo="))
    tools = [Tool(f"tool_{n}", "a tool the client defines") for n in range(int(shape.get("tools") or 0))]
    thinking = {"type": "enabled", "budget_tokens": 4096} if shape.get("thinking") else None
    return Request(
        model=shape.get("model") or "claude-sonnet-4-5",
        messages=[*history, Message("user", content)],
        system=shape.get("system") or None,
        tools=tools,
        thinking=thinking,
    )


@dataclass
class RoutingScore:
    turns: int = 0
    correct: int = 0
    cloud_turns: int = 0
    cloud_sent_local: int = 0
    local_turns: int = 0
    local_sent_cloud: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.turns if self.turns else 0.0

    @property
    def cloud_sent_local_rate(self) -> float:
        """Share of cloud-worthy turns answered locally: the error that costs users quality."""
        return self.cloud_sent_local / self.cloud_turns if self.cloud_turns else 0.0

    @property
    def local_sent_cloud_rate(self) -> float:
        return self.local_sent_cloud / self.local_turns if self.local_turns else 0.0


def score_turns(turns: list[LabelledTurn], route: Callable[[Request], str]) -> RoutingScore:
    result = RoutingScore()
    for turn in turns:
        got = route(request_of(turn))
        result.turns += 1
        result.correct += got == turn.route
        if turn.route == "cloud":
            result.cloud_turns += 1
            result.cloud_sent_local += got == "local"
        else:
            result.local_turns += 1
            result.local_sent_cloud += got == "cloud"
    return result


def main(argv: list[str] | None = None) -> None:
    """Dev figures; ``--test`` adds the test split (read only to report, never while changing rules)."""
    import sys

    from trooper.routing.classifier import classify

    splits = ("dev", "test") if "--test" in (sys.argv[1:] if argv is None else argv) else ("dev",)

    def route(request: Request) -> str:
        return classify(request, local_supports_tools=LOCAL_SUPPORTS_TOOLS).route

    print(f"{'split':<6}{'turns':>7}{'accuracy':>10}{'cloud→local':>13}{'local→cloud':>13}")
    for split in splits:
        s = score_turns(load_turns(split), route)
        print(f"{split:<6}{s.turns:>7}{s.accuracy:>10.3f}{s.cloud_sent_local_rate:>13.3f}{s.local_sent_cloud_rate:>13.3f}")


if __name__ == "__main__":
    main()
