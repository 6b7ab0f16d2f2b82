"""The X-Trooper-* headers: formats from a trail, and UTF-8 arriving intact through Tornado and httpx."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest
import tornado.httpserver
import tornado.testing
import tornado.web

from trooper.routing.headers import (
    Attempt,
    Trail,
    decision_header,
    summary_header,
    trigger_header,
    trooper_headers,
    wire_value,
)


def ok(provider: str) -> Attempt:
    return Attempt(provider, "ok")


def failed(provider: str, error_class: str, status: int = 0) -> Attempt:
    return Attempt(provider, "failed", status, error_class)


SIMPLE_LOCAL = Trail("local", "simple turn", attempts=[ok("ollama")])
ESCALATED = Trail("cloud", "risk word: explain", attempts=[ok("claude")])
DIRECT = Trail("cloud", "forced", forced=True, attempts=[ok("claude")])
CREDIT_FALLBACK = Trail("cloud", "code", attempts=[failed("claude", "credit_balance", 400), ok("ollama")], compacted=True, tokens_saved=42)
OVERLOAD_CHAIN = Trail(
    "cloud",
    "long turn",
    attempts=[failed("claude", "overloaded", 529), Attempt("openai", "skipped", error_class="breaker_open"), ok("ollama")],
    compacted=True,
)
RETRIED = Trail("cloud", "not simple", attempts=[failed("claude", "rate_limit", 429), ok("claude")])
ALL_FAILED = Trail("cloud", "code", attempts=[failed("claude", "overloaded", 529), failed("ollama", "unavailable")])
SURFACED = Trail("cloud", "code", attempts=[failed("claude", "unauthorized", 401)])
#: Claude was slow to start answering; Ollama, started alongside it, answered first.
HEDGE_WON = Trail("cloud", "risk word: explain", attempts=[failed("claude", "slow_first_token"), ok("ollama")])
#: Claude answered first after all; the hedge to Ollama was cancelled.
HEDGE_LOST = Trail("cloud", "risk word: explain", attempts=[ok("claude"), Attempt("ollama", "cancelled")])


@pytest.mark.parametrize(
    ("trail", "decision"),
    [
        (SIMPLE_LOCAL, "ollama (simple turn) | cloud skipped"),
        (ESCALATED, "claude (escalated)"),
        (DIRECT, "claude (direct)"),
        (Trail("local", "forced", forced=True, attempts=[ok("ollama")]), "ollama (direct)"),
        (CREDIT_FALLBACK, "ollama (fallback: credit_balance)"),
        (OVERLOAD_CHAIN, "ollama (fallback: overloaded)"),
        (Trail("cloud", "code", attempts=[Attempt("claude", "skipped", error_class="breaker_open"), ok("ollama")]), "ollama (fallback: breaker_open)"),
        (RETRIED, "claude (escalated)"),
        (ALL_FAILED, "ollama (failed: unavailable)"),
        (SURFACED, "claude (failed: unauthorized)"),
        (Trail("cloud", "code"), "none (failed: no provider)"),
        (HEDGE_WON, "ollama (hedge: slow_first_token)"),
        (HEDGE_LOST, "claude (escalated) | hedge cancelled: ollama"),
        (Trail("local", "simple turn", attempts=[ok("ollama"), Attempt("claude", "cancelled")]), "ollama (simple turn) | hedge cancelled: claude"),
        # OpenAI got the turn by its Responses API to keep the client's reasoning items…
        (Trail("cloud", "agent session", attempts=[ok("openai")], responses_api="openai"), "openai (escalated) | Responses API: reasoning items kept"),
        (Trail("cloud", "agent session", attempts=[failed("claude", "overloaded", 529), ok("openai")], responses_api="openai"),
         "openai (fallback: overloaded) | Responses API: reasoning items kept"),
        # …which a hedge racing it, answering first, did not.
        (Trail("cloud", "agent session", attempts=[ok("claude"), Attempt("openai", "cancelled")], responses_api="openai"),
         "claude (escalated) | hedge cancelled: openai"),
    ],
)
def test_decision(trail: Trail, decision: str) -> None:
    assert decision_header(trail) == decision


@pytest.mark.parametrize(
    ("trail", "summary"),
    [
        (DIRECT, "claude (direct) ✓"),
        (SIMPLE_LOCAL, "ollama (simple turn) ✓"),
        (ESCALATED, "claude (escalated) ✓"),
        (CREDIT_FALLBACK, "claude → ollama (400) | context ✓"),
        (OVERLOAD_CHAIN, "claude → ollama (529) | context ✓"),
        (RETRIED, "claude → claude (429) ✓"),
        (ALL_FAILED, "claude → ollama (529, unavailable) ✗"),
        (Trail("cloud", "code"), "none ✗"),
        (HEDGE_WON, "claude → ollama (slow_first_token) ✓"),
        (HEDGE_LOST, "claude (escalated) ✓"),
    ],
)
def test_summary(trail: Trail, summary: str) -> None:
    assert summary_header(trail) == summary


def test_trigger_is_the_first_switch_else_the_route_reason() -> None:
    assert trigger_header(OVERLOAD_CHAIN) == "overloaded (claude 529)"
    assert trigger_header(Trail("local", "simple turn", attempts=[failed("ollama", "connection"), ok("claude")])) == "connection (ollama)"
    assert trigger_header(ESCALATED) == "risk word: explain"
    assert trigger_header(RETRIED) == "not simple"


def test_all_headers() -> None:
    headers = {name: value.encode("latin-1").decode("utf-8") for name, value in trooper_headers(CREDIT_FALLBACK).items()}
    assert headers == {
        "X-Trooper-Provider": "ollama",
        "X-Trooper-Decision": "ollama (fallback: credit_balance)",
        "X-Trooper-Summary": "claude → ollama (400) | context ✓",
        "X-Trooper-Trigger": "credit_balance (claude 400)",
        "X-Trooper-Fallback-Count": "1",
        "X-Trooper-Session-Saved": "42 tokens",
    }


def test_fallback_count_ignores_retries_skips_and_cancelled_hedges() -> None:
    assert RETRIED.fallback_count() == 0
    assert OVERLOAD_CHAIN.fallback_count() == 1
    assert (HEDGE_WON.fallback_count(), HEDGE_LOST.fallback_count()) == (1, 0)
    assert (trigger_header(HEDGE_WON), trigger_header(HEDGE_LOST)) == ("slow_first_token (claude)", "risk word: explain")
    assert "X-Trooper-Session-Saved" not in trooper_headers(OVERLOAD_CHAIN)


def test_one_saved_token_is_singular() -> None:
    assert trooper_headers(Trail("local", "simple turn", attempts=[ok("ollama")], tokens_saved=1))["X-Trooper-Session-Saved"] == "1 token"


def test_wire_value_keeps_ascii_and_carries_utf8_bytes() -> None:
    assert wire_value("claude (direct)") == "claude (direct)"
    assert wire_value("→ ✓").encode("latin-1") == "→ ✓".encode()


class TrailHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        for name, value in trooper_headers(OVERLOAD_CHAIN).items():
            self.set_header(name, value)
        self.finish("ok")


@pytest.fixture
async def server_url() -> AsyncIterator[str]:
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/", TrailHandler)]))
    server.add_sockets([sock])
    yield f"http://127.0.0.1:{port}/"
    server.stop()
    await server.close_all_connections()


async def test_utf8_arrives_intact_through_tornado_and_httpx(server_url: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(server_url)
    assert response.status_code == 200
    assert response.headers["x-trooper-summary"] == "claude → ollama (529) | context ✓"
    assert response.headers["x-trooper-decision"] == "ollama (fallback: overloaded)"
    raw = dict(response.headers.raw)
    assert raw[b"X-Trooper-Summary"] == "claude → ollama (529) | context ✓".encode()

