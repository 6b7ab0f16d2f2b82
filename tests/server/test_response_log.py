"""What ``ResponseLog.keep`` stores of a response: masked as ``StoreMask.data`` masks it, with the
session's tools taken from its last kept response while they and the mask stay the same."""

from __future__ import annotations

import json
from typing import Any, cast

from trooper.conversation import IDENTIFIER_KEYS
from trooper.engine.sessions import TurnPlace
from trooper.privacy import CustomRules
from trooper.privacy.storage import StoreMask
from trooper.server.base import to_json
from trooper.server.response_log import ResponseLog
from trooper.store.base import Store
from trooper.store.records import ResponseRecord

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzK8h3jq9Pz"  # alone, nothing says it is a secret
IN_CONTEXT = f"aws_secret_access_key={SECRET}"


class RecordedResponses:
    """The one write ``ResponseLog.keep`` makes, recorded."""

    def __init__(self) -> None:
        self.kept: list[ResponseRecord] = []

    def add_response(self, record: ResponseRecord) -> None:
        self.kept.append(record)


def tool(description: str) -> dict[str, Any]:
    return {"type": "function", "name": "deploy", "description": description, "parameters": {"type": "object", "properties": {}}}


def response(number: int, tools: list[dict[str, Any]], text: str = "done") -> dict[str, Any]:
    return {
        "id": f"resp_{number}", "object": "response", "output": [{"id": f"msg_{number}", "type": "message", "content": [{"text": text}]}],
        "tools": tools, "usage": {"input_tokens": 3},
    }  # fmt: skip


def keep(log: ResponseLog, store: RecordedResponses, body: dict[str, Any], session: str = "s1") -> Any:
    log.keep(body["id"], TurnPlace(session, 0, 1), body, to_json(body))
    return json.loads(store.kept[-1].body)


def new_log() -> tuple[ResponseLog, RecordedResponses, StoreMask]:
    store, mask = RecordedResponses(), StoreMask(CustomRules(), keep_personal=False)
    return ResponseLog(cast(Store, store), mask), store, mask


def test_each_kept_response_is_stored_as_the_mask_masks_it_whole():
    log, store, mask = new_log()
    bodies = [
        response(1, [tool("ships the build")]),
        response(2, [tool("ships the build")]),  # the same tools, new objects
        response(3, [tool("ships the build"), tool("key AKIAQ3EGRTW5J2KD7XPL")]),  # changed
        response(4, [tool("ships the build")], text="key AKIAQ3EGRTW5J2KD7XPL"),
    ]
    for body in bodies:
        assert keep(log, store, body) == mask.data(body, skip=IDENTIFIER_KEYS)
    assert "[REDACTED:aws_access_key]" in store.kept[2].body and "[REDACTED:aws_access_key]" in store.kept[3].body


def test_tools_kept_before_the_mask_learns_a_secret_are_masked_again_after():
    log, store, mask = new_log()
    tools = [tool(f"deploys with {SECRET}")]
    assert SECRET in keep(log, store, response(1, tools))["tools"][0]["description"]
    mask.text(f"why does the upload fail?\n{IN_CONTEXT}")  # a turn of the session, masked as it is recorded
    assert SECRET not in keep(log, store, response(2, tools))["tools"][0]["description"]


def test_tools_that_teach_the_mask_a_secret_are_masked_with_it_on_the_next_response():
    """The first walk masks the value in context only (it learns it there); the next response's
    walk, uncached, masks it alone too: the tools remembered then are stale."""
    log, store, mask = new_log()
    tools = [tool(f"deploys with {SECRET}"), tool(IN_CONTEXT)]
    first = keep(log, store, response(1, tools))
    assert SECRET in first["tools"][0]["description"] and SECRET not in first["tools"][1]["description"]
    second = keep(log, store, response(2, tools))
    assert second == mask.data(response(2, tools), skip=IDENTIFIER_KEYS)
    assert SECRET not in json.dumps(second)


def test_sessions_keep_their_own_tools():
    log, store, _ = new_log()
    keep(log, store, response(1, [tool("ships the build")]), session="a")
    assert keep(log, store, response(2, [tool("runs the tests")]), session="b")["tools"][0]["description"] == "runs the tests"
    assert keep(log, store, response(3, [tool("ships the build")]), session="a")["tools"][0]["description"] == "ships the build"


def test_tools_python_finds_equal_but_json_does_not_are_stored_as_each_response_had_them():
    """``"strict": 1`` equals ``True`` to Python: the session's last masked tools are reused for the
    same list only (the codec gives back the one it met before), so each response keeps its own."""
    log, store, _ = new_log()
    strict = {**tool("ships the build"), "strict": True}
    assert keep(log, store, response(1, [strict]))["tools"][0]["strict"] is True
    # A secret in the answer: the body kept is masked, so serialised anew from the masked tools.
    kept = keep(log, store, response(2, [{**strict, "strict": 1}], text="key AKIAQ3EGRTW5J2KD7XPL"))
    assert '"strict": 1' in store.kept[-1].body and kept["tools"][0]["strict"] is not True


def test_a_response_the_mask_leaves_as_it_is_is_stored_as_the_text_sent():
    """Its text is kept as it is (not serialised again), with or without tools; a masked one is
    serialised from what the mask made of it."""
    log, store, _ = new_log()
    for body in (response(1, []), response(2, [tool("ships the build")]), response(3, [tool("ships the build")])):
        text = json.dumps(body, separators=(",", ":"))
        log.keep(body["id"], TurnPlace("s1", 0, 1), body, text)
        assert store.kept[-1].body is text
    masked = response(4, [tool("ships the build")], text="key AKIAQ3EGRTW5J2KD7XPL")
    log.keep(masked["id"], TurnPlace("s1", 0, 1), masked, json.dumps(masked, separators=(",", ":")))
    assert store.kept[-1].body == to_json(json.loads(store.kept[-1].body)) and "[REDACTED:aws_access_key]" in store.kept[-1].body
