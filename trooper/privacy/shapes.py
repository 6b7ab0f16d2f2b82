"""The shapes of provider keys, written once: ``trooper.redaction`` masks them in logs and errors,
and the privacy detectors (``trooper.privacy.secrets``) report them as findings.

Each prefixed key is its visible prefix then a body of 20+ key characters holding a digit (the digit
keeps ordinary words such as "risk-management" out). Not anchored at a word boundary: "key_sk-ant-…"
and "Bearer:sk-…" are keys too.
"""

from __future__ import annotations

#: Finding kind → the regex of the key's prefix. Order matters: ``sk-ant-`` before ``sk-``.
PREFIXED_KEYS: dict[str, str] = {
    "anthropic_key": r"sk-ant-",
    "openai_key": r"sk-(?:proj-|svcacct-|admin-)?",
    "google_api_key": r"AIza",
    "github_token": r"gh[pousr]_|github_pat_",
    "gitlab_token": r"glpat-",
    "slack_token": r"xox[abprs]-",
    "stripe_key": r"[rs]k_(?:live|test)_",
}
#: A literal every key shape contains: a text holding none of them holds no key (a fast first check).
KEY_LITERALS = ("sk-", "AIza", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "k_live_", "k_test_", "AKIA", "ASIA")
KEY_BODY = r"(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}"
#: AWS access key ids: a fixed four-letter prefix and 16 capitals or digits, standing alone.
AWS_ACCESS_KEY = r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"


def prefixed_key_pattern() -> str:
    """Every prefixed key as one regex whose group 1 is the prefix."""
    return "(" + "|".join(PREFIXED_KEYS.values()) + ")" + KEY_BODY


def named_key_pattern() -> str:
    """Every key shape as one regex with a named group per finding kind (the prefix included)."""
    named = [f"(?P<{kind}>(?:{prefix}){KEY_BODY})" for kind, prefix in PREFIXED_KEYS.items()]
    return "|".join([*named, f"(?P<aws_access_key>{AWS_ACCESS_KEY})"])
