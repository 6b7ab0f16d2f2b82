"""``trooper serve`` refuses to guard a public bind with a weak token, and says how to make one."""

from __future__ import annotations

import pytest

from trooper import cli


@pytest.mark.parametrize(("token", "why"), [("x", "1 character,"), ("aaaaaaaaaaaaaaaaaaaa", "only 1 different"), ("abcabcabcabcabcabc", "only 3")])
def test_a_weak_token_is_refused_for_a_public_bind(monkeypatch, capsys, token, why):
    monkeypatch.setenv("TROOPER_TOKEN", token)
    monkeypatch.setenv("TROOPER_BIND", "0.0.0.0")
    assert cli.main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "weak TROOPER_TOKEN" in error and why in error and "secrets.token_urlsafe" in error
    assert len(token) < 4 or token not in error, "the token itself is never printed"


def test_strong_tokens_pass_and_loopback_asks_nothing():
    assert cli.token_weakness("kX3v9qLw2RzT8mN4pB6yH1sD") is None
    assert cli.token_weakness("x") is not None


def test_a_busy_port_is_one_clear_line_and_no_trace(tmp_path):
    """A second `trooper serve` on a port in use says so and leaves no asyncio trace behind."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "TROOPER_DB": str(tmp_path / "t.db"), "TROOPER_EMBEDDED": "false",
               "FALLBACK_URL": "http://127.0.0.1:9/api/chat", "HOME": str(tmp_path)}
        done = subprocess.run([sys.executable, "-m", "trooper", "serve", "--port", str(port)], env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Unclosed" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_an_unreachable_postgresql_store_is_one_clear_line_without_the_password(tmp_path):
    import os
    import subprocess
    import sys

    from tests.net import free_port

    url = f"postgresql://trooper:do-not-print-me@127.0.0.1:{free_port()}/trooper"  # nothing listens there
    env = {**os.environ, "TROOPER_DB": url, "TROOPER_EMBEDDED": "false", "FALLBACK_URL": "http://127.0.0.1:9/api/chat",
           "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "trooper", "serve", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "trooper: cannot open the store PostgreSQL trooper@127.0.0.1:" in done.stderr and "refused" in done.stderr
    assert "do-not-print-me" not in done.stderr + done.stdout
    assert "Unclosed" not in done.stderr and "Traceback" not in done.stderr, done.stderr
