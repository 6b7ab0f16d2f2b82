"""The labelled privacy corpus (tests/data/privacy, LABELLING.md "Privacy snippets") is well formed.

Every label is checked the way a reviewer would check it by hand: the value is really in the
snippet, card numbers pass Luhn, IBANs and national identifiers pass their checksums
(python-stdnum), phone numbers are numbers phonenumbers accepts, IP addresses are public. A
label that fails here is a typo in the corpus, and it would silently skew recall.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import phonenumbers
import pytest
from stdnum import iban, luhn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.se import personnummer

PRIVACY = Path(__file__).resolve().parents[1] / "data" / "privacy"
SPLITS = ("dev", "test")
CONTEXTS = {"prose", "code", "log", "json", "yaml", "env", "tool_result", "sql", "shell"}
SECRET_KINDS = {
    "anthropic_key", "openai_key", "google_api_key", "aws_access_key", "aws_secret_key", "github_token",
    "gitlab_token", "slack_token", "stripe_key", "jwt", "private_key", "connection_password",
    "password_assignment", "high_entropy_secret",
}
PERSONAL_KINDS = {"email", "phone", "card_number", "iban", "national_id", "ip_address"}
NATIONAL_IDS = (bsn, dni, nie, codicefiscale, nir, idnr, personnummer, aadhaar)
# Regions whose national number formats appear in the corpus without a +country prefix.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "IN", "BR", "AU", "SE", "CA", "IE")
RESERVED_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", ".example", ".test", ".invalid", ".localhost", "localhost")


def load(split: str) -> list[dict]:
    return [json.loads(line) for line in (PRIVACY / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def valid_phone(value: str) -> bool:
    regions = (None,) if value.startswith("+") else PHONE_REGIONS
    for region in regions:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def value_problem(kind: str, value: str) -> str | None:
    """Why `value` is not a valid `kind` (None when it is)."""
    digits = "".join(c for c in value if c.isdigit())
    if kind == "card_number" and not (13 <= len(digits) <= 19 and luhn.is_valid(digits) and set(value) <= set("0123456789 -")):
        return "card number fails Luhn"
    if kind == "iban" and not iban.is_valid(value):
        return "IBAN fails its checksum"
    if kind == "national_id" and not any(module.is_valid(value) for module in NATIONAL_IDS):
        return "no national id checksum accepts it"
    if kind == "phone" and not valid_phone(value):
        return "phonenumbers rejects it"
    if kind == "ip_address" and not ipaddress.ip_address(value).is_global:
        return "not a public address"
    if kind == "email" and ("@" not in value or value.lower().endswith(RESERVED_EMAIL_DOMAINS)):
        return "not an address at a real domain"
    if kind == "private_key" and not (value.startswith("-----BEGIN ") and value.endswith("PRIVATE KEY-----")):
        return "not a whole PEM block"
    return None


@pytest.mark.parametrize("split", SPLITS)
def test_every_label_is_in_its_snippet_and_passes_its_checksum(split):
    problems = []
    for row in load(split):
        assert set(row) == {"id", "context", "text", "findings"}, row["id"]
        assert row["context"] in CONTEXTS, row["id"]
        seen = set()
        for finding in row["findings"]:
            kind, value = finding["kind"], finding["value"]
            expected_category = "secret" if kind in SECRET_KINDS else "personal" if kind in PERSONAL_KINDS else None
            if expected_category is None or finding["category"] != expected_category:
                problems.append(f"{row['id']}: kind {kind!r} with category {finding['category']!r}")
            if not value or value not in row["text"]:
                problems.append(f"{row['id']}: {kind} value is not a substring of the text")
            if (kind, value) in seen:
                problems.append(f"{row['id']}: {kind} labelled twice")
            seen.add((kind, value))
            why = value_problem(kind, value)
            if why:
                problems.append(f"{row['id']}: {kind} {why}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("split", SPLITS)
def test_each_split_covers_every_kind_and_context_with_enough_hard_negatives(split):
    rows = load(split)
    kinds = {f["kind"] for row in rows for f in row["findings"]}
    negatives = [row for row in rows if not row["findings"]]
    assert len(rows) >= 180
    assert kinds == SECRET_KINDS | PERSONAL_KINDS
    assert {row["context"] for row in rows} == CONTEXTS
    assert {row["context"] for row in negatives} == CONTEXTS
    assert len(negatives) >= 0.35 * len(rows)
    assert len({row["id"] for row in rows}) == len(rows)
    assert all(row["id"].startswith(f"{split}-") for row in rows)


def test_the_validator_rejects_what_a_typo_would_produce():
    assert value_problem("card_number", "4539 1488 0343 6464") == "card number fails Luhn"
    assert value_problem("iban", "DE89 3704 0044 0532 0130 01") == "IBAN fails its checksum"
    assert value_problem("national_id", "123456789") == "no national id checksum accepts it"
    assert value_problem("ip_address", "192.168.1.20") == "not a public address"
    assert value_problem("email", "jane@example.com") == "not an address at a real domain"
    assert value_problem("card_number", "4539 1488 0343 6467") is None
