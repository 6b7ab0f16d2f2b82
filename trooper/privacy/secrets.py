"""Secrets: provider keys (the shapes ``trooper.redaction`` masks), JWTs, private key blocks,
passwords in connection strings and assignments, high-entropy values in assignment context.

detect-secrets supplies what it does well: the private-key markers, the basic-auth URL shape, the
JWT validity check, the keyword list and its placeholder heuristics. Its scanning API reports values
per line without positions, so the spans are found here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector

from trooper.privacy.entropy import looks_made_up, looks_random, shannon_entropy
from trooper.privacy.examples import is_published_example
from trooper.privacy.findings import Finding, finding
from trooper.privacy.shapes import KEY_LITERALS, named_key_pattern

_KEYS = re.compile(named_key_pattern())
_KEY_PREFIX = re.compile(r"^(?:sk-(?:ant-|proj-|svcacct-|admin-)?|AIza|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|[rs]k_(?:live|test)_)")

_JWT = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")

# "-----BEGIN RSA PRIVATE KEY-----" … "-----END RSA PRIVATE KEY-----" (or the end of a cut-off text).
_PRIVATE_KEY_MARKERS = "|".join(pattern.pattern for pattern in PrivateKeyDetector.denylist if "BEGIN" in pattern.pattern)
_PRIVATE_KEY = re.compile(r"-----(?:" + _PRIVATE_KEY_MARKERS + r")-----(?P<body>[\s\S]*?)(?:-----END[A-Z0-9 ]*-----|\Z)")
_KEY_BODY_CHARS = re.compile(r"[A-Za-z0-9+/=]{40,}")

# scheme://user:password@host; group 1 is the password.
_BASIC_AUTH = BasicAuthDetector.denylist[0]

# A word naming a credential (holding one of these stems), then an assignment: `DB_PASSWORD=…`,
# `"secret": "…"`, `token: …`; the whole name decides what the value must look like.
_KEYWORD_STEMS = ("pass", "pwd", "secret", "contrase", "key", "token", "credential", "auth")
_STEM_ANY_CASE = re.compile("|".join(_KEYWORD_STEMS), re.IGNORECASE)
_PASSWORD_WORDS = re.compile(r"(?i)passw(?:or)?d|passphrase|pwd|secret|contrase[ñn]a")
_ASSIGNED = re.compile(
    r"[\w.-]*['\"]?\]?[ \t]*(?::=|=>|={1,3}|:(?=[\s'\"`]))[ \t]*"
    r"(?:(?P<quote>['\"`])(?P<quoted>[^'\"`\n]{1,300})(?P=quote)|(?P<bare>[^\s'\"`,;#}\]\)]{1,300}))"
)
_NAME_CHARS = re.compile(r"[\w.-]*$")
#: How far before its keyword a setting's name is read (``AWS_SECRET_ACCESS_KEY``, ``app.auth.token``).
_LONGEST_NAME = 80
# Values that are code or configuration, not a credential.
_NOT_A_VALUE = {
    "none", "null", "nil", "true", "false", "undefined", "str", "string", "int", "bool", "bytes", "required",
    "optional", "self", "env", "secret", "password", "token", "hidden", "masked", "empty", "default",
}  # fmt: skip
_INDIRECT = re.compile(r"^(?:\$|%\(|os\.|process\.env|env\(|getenv|settings\.|config\.|self\.|args\.|\{|[\w.]+[(\[])")
# A quoted literal later on the line of an indirect assignment (`x = env.X ? 'test' : 'value'`).
_QUOTED_LITERAL = re.compile(r"(['\"`])([^'\"`\n]{16,300})\1")
# SQL and command-line passwords: IDENTIFIED BY '…', WITH PASSWORD '…', --password=…, -p'…'.
_STATEMENT_PASSWORD = re.compile(
    r"(?:identified\s+by|with\s+(?:encrypted\s+)?password|password)\s+(['\"])(?P<quoted>[^'\"\n]{4,200})\1"
    r"|(?:--password[= ]|(?<=\s)-p)(['\"]?)(?P<flag>[^\s'\"]{4,200})\3"
)
_STATEMENT_PASSWORD_ANY_CASE = re.compile(_STATEMENT_PASSWORD.pattern, re.IGNORECASE)

_AWS_SECRET_NAME = re.compile(r"(?i)secret_?access_?key|aws.{0,20}secret")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
#: How far after an access key id its secret is looked for (a credentials CSV, a pasted pair).
_AWS_PAIR_WINDOW = 400

#: High-entropy values: at least this long, and this many bits per character.
MIN_SECRET_LENGTH = 16
MIN_ENTROPY = 3.3


def find_secrets(text: str) -> Iterator[Finding]:
    """Every secret in ``text`` (overlaps are resolved by the caller)."""
    yield from _provider_keys(text)
    if "eyJ" in text:
        yield from _jwts(text)
    if "PRIVATE KEY" in text:
        yield from _private_keys(text)
    if "://" in text:
        yield from _connection_passwords(text)
    lowered = text.lower()
    if any(stem in lowered for stem in _KEYWORD_STEMS):
        yield from _assignments(text, lowered)
    if "identified" in lowered or "password" in lowered or " -p" in text:
        yield from _statement_passwords(text, lowered)


def _key_matches(text: str) -> Iterator[re.Match[str]]:
    """The key shapes in ``text``, found from their literal prefixes (``str.find`` is much faster
    than running the whole alternation at every position)."""
    taken = -1
    for start in sorted(_key_starts(text)):
        if start < taken:
            continue
        match = _KEYS.match(text, start)
        if match is not None:
            taken = match.end()
            yield match


def _key_starts(text: str) -> set[int]:
    starts = set()
    for literal in KEY_LITERALS:
        back = 1 if literal.startswith("k_") else 0  # "rk_live_", "sk_test_"
        position = text.find(literal)
        while position >= 0:
            starts.add(max(0, position - back))
            position = text.find(literal, position + 1)
    return starts


def _provider_keys(text: str) -> Iterator[Finding]:
    for match in _key_matches(text):
        kind = match.lastgroup or "high_entropy_secret"
        value = match.group()
        if looks_made_up(_KEY_PREFIX.sub("", value)) or is_published_example(value):
            continue
        yield finding(kind, match.start(), match.end(), 0.95)
        if kind == "aws_access_key":
            yield from _aws_secret_near(text, match.end())


def _aws_secret_near(text: str, after: int) -> Iterator[Finding]:
    window = text[after : after + _AWS_PAIR_WINDOW]
    for match in _AWS_SECRET.finditer(window):
        value = match.group()
        if looks_random(value):  # 40 characters: long enough for the rule's 16
            yield finding("aws_secret_key", after + match.start(), after + match.end(), 0.85)
            return


def _jwts(text: str) -> Iterator[Finding]:
    for match in _JWT.finditer(text):
        if JwtTokenDetector.is_formally_valid(match.group()):
            yield finding("jwt", match.start(), match.end(), 0.95)


def _private_keys(text: str) -> Iterator[Finding]:
    for match in _PRIVATE_KEY.finditer(text):
        if _KEY_BODY_CHARS.search(match.group("body")):
            yield finding("private_key", match.start(), match.end(), 0.99)


def _connection_passwords(text: str) -> Iterator[Finding]:
    for match in _BASIC_AUTH.finditer(text):
        password = match.group(1)
        if len(password) < 3 or looks_made_up(password) or password.lower() in _NOT_A_VALUE or password.startswith("$"):
            continue
        yield finding("connection_password", match.start(1), match.end(1), 0.9)


def _assignments(text: str, lowered: str) -> Iterator[Finding]:
    # Each stem is found with str.find in the lower-cased text (much faster than a case-blind
    # regex); when lower-casing changed the length (a few Unicode letters), in a case-blind way.
    seen: set[int] = set()
    for stem_start, stem_end in sorted(_stems(text, lowered)):
        assigned = _ASSIGNED.match(text, stem_end)
        if assigned is None:
            continue
        group = "quoted" if assigned.group("quoted") is not None else "bare"
        value, start, end = assigned.group(group), assigned.start(group), assigned.end(group)
        if start in seen:  # "oauth_token": two stems, one assignment
            continue
        seen.add(start)
        name = _NAME_CHARS.search(text, max(0, stem_start - _LONGEST_NAME), stem_start)
        name_text = (name.group() if name else "") + text[stem_start : assigned.start(group)]
        found = _judge_assignment(name_text, value, quoted=group == "quoted")
        if found is not None:
            kind, confidence = found
            yield finding(kind, start, end, confidence)
        elif _INDIRECT.search(value.strip()):
            yield from _literals_after(text, assigned.end())


def _stems(text: str, lowered: str) -> Iterator[tuple[int, int]]:
    if len(lowered) != len(text):
        for match in _STEM_ANY_CASE.finditer(text):
            yield match.span()
        return
    for stem in _KEYWORD_STEMS:
        position = lowered.find(stem)
        while position >= 0:
            yield position, position + len(stem)
            position = lowered.find(stem, position + 1)


def _literals_after(text: str, start: int) -> Iterator[Finding]:
    """Random-looking quoted literals on the rest of the line of an indirect assignment."""
    line_end = text.find("\n", start)
    for match in _QUOTED_LITERAL.finditer(text, start, len(text) if line_end < 0 else line_end):
        value = match.group(2)
        if _random_looking(value):
            yield finding("high_entropy_secret", match.start(2), match.end(2), 0.6)


def _random_looking(value: str) -> bool:
    return (
        len(value) >= MIN_SECRET_LENGTH and " " not in value and shannon_entropy(value) >= MIN_ENTROPY
        and any(c.isdigit() for c in value) and not looks_made_up(value)
    )


def _statement_passwords(text: str, lowered: str) -> Iterator[Finding]:
    # matched on the lower-cased text when that kept the positions; the value is read from ``text``
    matches = _STATEMENT_PASSWORD.finditer(lowered) if len(lowered) == len(text) else _STATEMENT_PASSWORD_ANY_CASE.finditer(text)
    for match in matches:
        group = "quoted" if match.group("quoted") is not None else "flag"
        value = text[match.start(group) : match.end(group)]
        if value.lower() not in _NOT_A_VALUE and not looks_made_up(value) and not value.startswith("$"):
            yield finding("password_assignment", match.start(group), match.end(group), 0.8)


def _judge_assignment(name: str, value: str, *, quoted: bool) -> tuple[str, float] | None:
    """The kind and confidence of ``name = value``, or None when the value is no credential."""
    value = value.strip()
    if len(value) < 4 or value.lower() in _NOT_A_VALUE or looks_made_up(value) or _INDIRECT.search(value) or is_published_example(value):
        return None
    if not quoted and re.fullmatch(r"[A-Za-z_][\w]*", value) and value.lower() in name.lower():
        return None  # password=password: a variable passed on
    if _AWS_SECRET_NAME.search(name) and _AWS_SECRET.fullmatch(value):
        return "aws_secret_key", 0.9
    if _PASSWORD_WORDS.search(name):
        return "password_assignment", 0.8 if quoted else 0.7
    if _random_looking(value):
        return "high_entropy_secret", 0.7
    return None
