"""The owner's own rules: ``TROOPER_PRIVATE_PATTERNS`` (regexes) and ``TROOPER_PRIVATE_PATHS``
(globs such as ``**/.env`` or ``secrets/**``, matched against the file paths a text names)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from trooper.privacy.findings import Finding, finding

# A file path as it appears in a tool call or a tool result: a token holding a slash or a dot file.
_PATH = re.compile(r"(?:~|\.{1,2})?/?(?:[\w.@+-]+/)*[\w.@+-]+|\.[\w.-]+")


class RuleError(ValueError):
    """A custom rule cannot be used; the message says which and why."""


@dataclass(frozen=True)
class CustomRules:
    patterns: tuple[re.Pattern[str], ...] = ()
    paths: tuple[re.Pattern[str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.patterns or self.paths)


def parse_patterns(setting: str) -> tuple[str, ...]:
    """``TROOPER_PRIVATE_PATTERNS``: a JSON list of regexes, or one regex."""
    setting = setting.strip()
    if not setting:
        return ()
    if setting.startswith("["):
        try:
            patterns = json.loads(setting)
        except json.JSONDecodeError as exc:
            raise RuleError(f"not a JSON list of regexes: {exc.msg}") from None
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            raise RuleError("a JSON list of non-empty strings is expected")
        return tuple(patterns)
    return (setting,)


def parse_paths(setting: str) -> tuple[str, ...]:
    """``TROOPER_PRIVATE_PATHS``: globs separated by commas."""
    return tuple(glob.strip() for glob in setting.split(",") if glob.strip())


def compile_rules(patterns: Sequence[str], paths: Sequence[str]) -> CustomRules:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise RuleError(f"the regex {pattern!r} does not compile: {exc}") from None
    return CustomRules(tuple(compiled), tuple(glob_to_regex(glob) for glob in paths))


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """``**`` crosses directories, ``*`` and ``?`` do not; a relative glob matches at any directory
    boundary (``secrets/**`` matches ``/app/secrets/db.yaml``)."""
    parts = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            parts.append(".*")
            index += 2
        elif glob[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(glob[index]))
            index += 1
    anchor = "^" if glob.startswith(("/", "~")) else "(?:^|.*/)"
    return re.compile(anchor + "".join(parts) + "$")


def find_custom(text: str, rules: CustomRules) -> Iterator[Finding]:
    for pattern in rules.patterns:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                yield finding("private_pattern", match.start(), match.end(), 1.0)
    if rules.paths:
        for match in _PATH.finditer(text):
            if any(glob.match(match.group()) for glob in rules.paths):
                yield finding("private_path", match.start(), match.end(), 1.0)
