"""Helpers for tests of the chat page's API: its Server-Sent Events read as (name, data) pairs."""

from __future__ import annotations

import json

import httpx


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
            name = None
    return events


def post_sse(client: httpx.Client, path: str, body: dict | None = None) -> list[tuple[str, dict]]:
    with client.stream("POST", path, json=body or {}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return sse_events(response)


def new_session(client: httpx.Client) -> str:
    response = client.post("/sessions")
    assert response.status_code == 201
    return response.json()["id"]
