"""Scripting a fake that runs in another process (``python -m tests.fakes``) over HTTP.

The runner adds control routes under ``/_fake/``; behaviours travel as JSON specs naming a
constructor of ``tests.fakes.behaviours`` and its keyword arguments, e.g.
``{"behaviour": "http_error", "status": 429, "retry_after": 1}``. A reply's stream fault is an
extra key: ``{"behaviour": "reply_text", "text": "Hi", "fault": {"kind": "cut", "after": 1}}``.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, replace
from typing import Any, Callable

import httpx

from tests.fakes import behaviours as b
from tests.fakes.playback import Exchange
from tests.fakes.recording import RecordedRequest
from tests.fakes.server import FakeServer, Route

#: The constructors a spec may name: data in, behaviour out; no arbitrary code.
CONSTRUCTORS: dict[str, Callable[..., b.Behaviour]] = {
    f.__name__: f
    for f in (
        b.reply_text,
        b.reply_tool_calls,
        b.echo,
        b.slow_first_token,
        b.stream_cut,
        b.stream_stall,
        b.malformed_chunk,
        b.missing_terminator,
        b.stream_error,
        b.http_error,
        b.overloaded,
        b.rate_limited,
        b.out_of_credit,
        b.invalid_api_key,
        b.context_too_long,
        b.content_blocked,
        b.model_not_found,
        b.server_error,
        b.connection_reset,
        b.hang,
    )
}


def behaviour_from_spec(spec: dict[str, Any]) -> b.Behaviour:
    kwargs = dict(spec)
    name = kwargs.pop("behaviour")
    if name not in CONSTRUCTORS:
        raise ValueError(f"unknown behaviour {name!r}; one of {sorted(CONSTRUCTORS)}")
    fault = kwargs.pop("fault", None)
    if name == "reply_tool_calls":
        behaviour = b.reply_tool_calls(*(b.tool_call(**call) for call in kwargs.pop("calls")), **kwargs)
    else:
        behaviour = CONSTRUCTORS[name](**kwargs)
    if fault is not None:
        if not isinstance(behaviour, b.Reply):
            raise ValueError("only a reply can carry a stream fault")
        behaviour = replace(behaviour, fault=b.StreamFault(**fault))
    return behaviour


def _request_as_json(request: RecordedRequest) -> dict[str, Any]:
    record = asdict(request)
    record["body"] = base64.b64encode(request.body).decode()
    return record


def control_routes(fake: FakeServer) -> dict[tuple[str, str], Route]:
    """``POST /_fake/enqueue`` (a spec or a list), ``PUT /_fake/default``, ``GET /_fake/requests``,
    ``POST /_fake/reset``."""

    async def enqueue(exchange: Exchange, request: RecordedRequest) -> None:
        specs = request.json if isinstance(request.json, list) else [request.json]
        try:
            fake.enqueue(*(behaviour_from_spec(spec) for spec in specs))
        except (ValueError, TypeError, KeyError) as exc:
            await fake.send_json(exchange, {"error": str(exc)}, status=400)
            return
        await fake.send_json(exchange, {"pending": fake.pending})

    async def set_default(exchange: Exchange, request: RecordedRequest) -> None:
        try:
            fake.default = behaviour_from_spec(request.json)
        except (ValueError, TypeError, KeyError) as exc:
            await fake.send_json(exchange, {"error": str(exc)}, status=400)
            return
        await fake.send_json(exchange, {"ok": True})

    async def requests(exchange: Exchange, request: RecordedRequest) -> None:
        await fake.send_json(exchange, [_request_as_json(r) for r in list(fake.requests)])

    async def reset(exchange: Exchange, request: RecordedRequest) -> None:
        fake.reset()
        await fake.send_json(exchange, {"ok": True})

    return {
        ("POST", "/_fake/enqueue"): enqueue,
        ("PUT", "/_fake/default"): set_default,
        ("GET", "/_fake/requests"): requests,
        ("POST", "/_fake/reset"): reset,
    }


class RemoteFake:
    """The test side of a fake running in another process."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=5.0)

    def enqueue(self, behaviour: str, **kwargs: Any) -> None:
        self._check(self._http.post("/_fake/enqueue", json={"behaviour": behaviour, **kwargs}))

    def set_default(self, behaviour: str, **kwargs: Any) -> None:
        self._check(self._http.put("/_fake/default", json={"behaviour": behaviour, **kwargs}))

    def requests(self) -> list[RecordedRequest]:
        response = self._check(self._http.get("/_fake/requests"))
        return [RecordedRequest(**{**r, "body": base64.b64decode(r["body"])}) for r in response.json()]

    def reset(self) -> None:
        self._check(self._http.post("/_fake/reset"))

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def _check(response: httpx.Response) -> httpx.Response:
        if response.status_code != 200:
            raise ValueError(f"fake refused: {response.text}")
        return response
