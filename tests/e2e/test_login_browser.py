"""Signing in with TROOPER_TOKEN in headless Chromium: redirect, form, cookie, the pages' own API
calls, and signing out. Before the login form's referrer policy was fixed, Chromium posted it with
``Origin: null`` and the cross-site gate refused every sign-in."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.fakes.behaviours import reply_text

pytestmark = pytest.mark.browser

TOKEN = "kX3v9qLw2RzT8mN4pB6yH1sD"
LOCAL_ANSWER = "Signed-in answer from the local model."


@pytest.fixture
def guarded(fake_ollama, make_trooper):  # type: ignore[no-untyped-def]
    fake_ollama.default = reply_text(LOCAL_ANSWER)
    return make_trooper(TROOPER_TOKEN=TOKEN, FALLBACK_URL=fake_ollama.api_chat_url)


def test_sign_in_use_the_pages_and_sign_out(guarded, watched) -> None:  # type: ignore[no-untyped-def]
    page = watched.page
    posts: list[dict[str, str]] = []
    page.on("request", lambda request: posts.append(request.headers) if request.method == "POST" else None)

    page.goto(f"{guarded.url}/dashboard")
    expect(page).to_have_url(f"{guarded.url}/login?next=dashboard")
    expect(page.locator("#sign-out")).to_have_count(0)

    page.fill("input[name=token]", "not-the-token")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_have_text("That is not the access token (TROOPER_TOKEN).")

    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{guarded.url}/dashboard")
    assert posts and all(h.get("origin") == guarded.url for h in posts), posts  # never "null"
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator("#sign-out")).to_be_visible()

    # An agent's turn (token in its header) shows up through the page's own API calls (cookie).
    response = httpx.post(
        f"{guarded.url}/v1/messages",
        json={"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi there"}]},
        headers={"Authorization": f"Bearer {TOKEN}", "X-Session-ID": "signed-in-agent"},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    expect(page.locator(".session-item[data-session-id='signed-in-agent']")).to_be_visible()

    # The chat page posts (Origin checked, cookie sent) and streams its answer.
    page.goto(f"{guarded.url}/chat")
    page.fill("#prompt", "hello from a signed-in browser")
    page.press("#prompt", "Enter")
    expect(page.locator(".msg-assistant:not([aria-busy])").last).to_contain_text(LOCAL_ANSWER)

    page.click("#sign-out button")
    expect(page).to_have_url(f"{guarded.url}/login")
    page.goto(f"{guarded.url}/chat")
    expect(page).to_have_url(f"{guarded.url}/login?next=chat")
    assert not watched.errors
