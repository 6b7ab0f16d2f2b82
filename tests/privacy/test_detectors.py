"""The detectors on hand-written cases: each kind found where it is, and the look-alikes left alone.
The labelled corpus (test_corpus.py) measures recall and false positives at scale."""

from __future__ import annotations

import importlib

import pytest

from trooper.config import ConfigError, Settings
from trooper.privacy import compile_rules, detect
from trooper.privacy.entropy import looks_made_up
from trooper.privacy.findings import PERSONAL_KINDS, SECRET_KINDS


def found(text: str, **kwargs: object) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in detect(text, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("key sk-ant-api03-Xy7pQ2mN9vL4kR8sT1wZ", "anthropic_key", "sk-ant-api03-Xy7pQ2mN9vL4kR8sT1wZ"),
        ("OPENAI_API_KEY=sk-proj-Ab3dEf9hIjKlMn0pQrStUvWx12", "openai_key", "sk-proj-Ab3dEf9hIjKlMn0pQrStUvWx12"),
        ('{"key": "AIzaSyB3k9Xq0Lm2Np4Rs6Tu8Vw0Yz1Ab3Cd5Ef"}', "google_api_key", "AIzaSyB3k9Xq0Lm2Np4Rs6Tu8Vw0Yz1Ab3Cd5Ef"),
        ("id AKIAQ3EGRTW5J2KD7XPL here", "aws_access_key", "AKIAQ3EGRTW5J2KD7XPL"),
        ('aws_secret_access_key = "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"', "aws_secret_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzK8h3jq9Pz"),
        ("GH ghp_R4nd0mT0k3nV4lu3F0rT3st1ng9xYz2Q", "github_token", "ghp_R4nd0mT0k3nV4lu3F0rT3st1ng9xYz2Q"),
        ("glpat-9xK2mP4qR7sT1vW3yZ5b", "gitlab_token", "glpat-9xK2mP4qR7sT1vW3yZ5b"),
        ("SLACK=xoxb-2048-1234567890-Ab9Cd8Ef7Gh6", "slack_token", "xoxb-2048-1234567890-Ab9Cd8Ef7Gh6"),
        ("stripe rk_live_51H8xYzAbCdEf0123GhIjKl", "stripe_key", "rk_live_51H8xYzAbCdEf0123GhIjKl"),
        ("postgres://app:Tr0ub4dor3@db.prod:5432/app", "connection_password", "Tr0ub4dor3"),
        ("ALTER USER app IDENTIFIED BY 'pl4ce-holder-not';", "password_assignment", "pl4ce-holder-not"),
        ("DB_PASSWORD=hunter2go\n", "password_assignment", "hunter2go"),
        ('signing_key: "q8Zr2Lx9Vt4Nw7Kp3Hs6Jd1F"', "high_entropy_secret", "q8Zr2Lx9Vt4Nw7Kp3Hs6Jd1F"),
        ("mail jane.doe@acme.io today", "email", "jane.doe@acme.io"),
        ("call +44 20 7946 0958", "phone", "+44 20 7946 0958"),
        ("card 4539 1488 0343 6467 exp", "card_number", "4539 1488 0343 6467"),
        ("IBAN DE34 3704 0044 0532 0131 17 Thanks", "iban", "DE34 3704 0044 0532 0131 17"),
        ("codice fiscale RSSMRA85T10A562S", "national_id", "RSSMRA85T10A562S"),
        ("client 81.2.69.160 connected", "ip_address", "81.2.69.160"),
        ("peer [2a00:1450:4001:81b::200e]:443 reset", "ip_address", "2a00:1450:4001:81b::200e"),
    ],
)
def test_each_kind_is_found_with_its_span(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


def test_jwt_and_private_key_blocks() -> None:
    jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    body = "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naIbzsdQ8tj1Ys7C3z6yTGOqHxbJ4ZZ6uSiDc4X"
    key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    assert found(f"Authorization: Bearer {jwt}") == [("jwt", jwt)]
    assert found(f"id_rsa:\n{key}\n") == [("private_key", key)]


@pytest.mark.parametrize(
    "text",
    [
        "request id 123e4567-e89b-12d3-a456-426614174000",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "AWS docs use AKIAIOSFODNN7EXAMPLE as the example key id",
        "OPENAI_API_KEY=sk-your-key-here-xxxxxxxxxxxxxxxx",
        "password = os.environ['DB_PASSWORD']",
        "def login(password: str, token=None):",
        'File "app.py", line 1234, in handler at 2024-01-15 10:23:45 on 00:1a:2b:3c:4d:5e via fe80::1',
        "requests==2.31.0 urllib3 v1.26.18.1 listening on 127.0.0.1:8080 and 0.0.0.0",
        "max_tokens: 4096\nsession_token: ${SESSION_TOKEN}",
        "git clone git@github.com:org/repo.git",
        "postgres://user:password@localhost/db",
        "thread 140234567890123 pid 48213 elapsed 1700000000",
        "Stripe's docs use sk_test_4eC39HqLyjWDarjtT1zdp7dc and the card 4242 4242 4242 4242",
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set me}\nsupport: ops@acme.example.com, 10.0.0.12, 192.0.2.44",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----",
    ],
)
def test_look_alikes_are_not_findings(text: str) -> None:
    assert found(text) == []


def test_custom_patterns_and_paths() -> None:
    rules = compile_rules([r"ACME-\d{6}"], ["**/.env", "secrets/**"])
    text = "ticket ACME-123456 read /app/.env and ./secrets/db.yaml, not src/env.py"
    assert found(text, rules=rules) == [
        ("private_pattern", "ACME-123456"),
        ("private_path", "/app/.env"),
        ("private_path", "./secrets/db.yaml"),
    ]


def test_findings_carry_category_and_confidence() -> None:
    [key, mail] = detect("AKIAQ3EGRTW5J2KD7XPL jane@acme.io")
    assert (key.category, mail.category) == ("secret", "personal")
    assert key.kind in SECRET_KINDS and mail.kind in PERSONAL_KINDS
    assert 0.5 <= mail.confidence <= 1 and key.span == (0, 20)


def test_settings_read_the_policy_and_rules() -> None:
    settings = Settings.from_env({"TROOPER_PRIVACY": "redact", "TROOPER_PRIVATE_PATTERNS": '["a+b", "c"]', "TROOPER_PRIVATE_PATHS": "**/.env"})
    assert settings.privacy == "redact" and len(settings.private_rules.patterns) == 2 and len(settings.private_rules.paths) == 1
    assert Settings.from_env({}).privacy == "local"
    with pytest.raises(ConfigError, match="TROOPER_PRIVACY must be one of"):
        Settings.from_env({"TROOPER_PRIVACY": "cloud"})
    with pytest.raises(ConfigError, match="TROOPER_PRIVATE_PATTERNS"):
        Settings.from_env({"TROOPER_PRIVATE_PATTERNS": "(unclosed"})


@pytest.mark.parametrize(
    ("value", "made_up"),
    [
        ("SAMPLE9Qx7Lm2Vb8Rt4Kp", True),  # a fake word in any case
        ("\u017fample9Qx7Lm2Vb8Rt4Kp", True),  # the long s folds to "s" outside ASCII too
        ("aaaaaaaaaaaaaaab1", True),  # one character over half the value
        ("aaaaaaaab1Qx7Lm2V", False),  # half, not over
        ("a9Qx7Lm2Vb8Rt4Kp", False),
    ],
)
def test_made_up_values(value: str, made_up: bool) -> None:
    assert looks_made_up(value) is made_up


def test_an_ipv6_address_needs_a_double_colon_or_eight_groups() -> None:
    text = "at 10:23:45 mac 00:1a:2b:3c:4d:5e peer 2001:4860:4860:0:0:0:0:8888 and 2a00:1450:4001:81b::200e"
    assert [text[f.start : f.end] for f in detect(text)] == ["2001:4860:4860:0:0:0:0:8888", "2a00:1450:4001:81b::200e"]


def test_a_text_scanned_again_is_not_scanned_twice(monkeypatch) -> None:
    """Routing scans a turn's new text, then the store masks it: the second scan is remembered."""
    detection = importlib.import_module("trooper.privacy.detect")  # the package names the function detect too

    scans: list[str] = []
    real_scan = detection._scan
    monkeypatch.setattr(detection, "_scan", lambda text, rules: scans.append(text) or real_scan(text, rules))
    monkeypatch.setattr(detection, "_recent", detection.RecentScans(texts=2, characters=100))
    text = "mail jane.doe@acme.io today"
    first = detect(text)
    first.clear()  # a caller changing its list changes nothing remembered
    assert [f.kind for f in detect(text)] == ["email"]
    assert scans == [text]
    rules = compile_rules(["today"], [])
    assert detect(text, rules) != [] and scans == [text, text], "other rules: scanned with them"
    detect("x" * 200)  # past the characters kept: the older texts are forgotten, the last kept
    detect("x" * 200)
    detect(text)
    assert scans == [text, text, "x" * 200, text]
