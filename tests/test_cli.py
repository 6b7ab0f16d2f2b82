"""``trooper serve`` refuses to guard a public bind with a weak token, and says how to make one."""

from __future__ import annotations

import pytest

from trooper import cli


@pytest.mark.parametrize(("token", "why"), [("x", "1 characters"), ("aaaaaaaaaaaaaaaaaaaa", "only 1 different"), ("abcabcabcabcabcabc", "only 3")])
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
