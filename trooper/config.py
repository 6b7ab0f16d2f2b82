"""Configuration: the one place that reads the environment (and the ``.env`` file the CLI adds to it).

Names and defaults follow the original Trooper so existing users can switch without edits. Every
other module receives a ``Settings`` object; none of them looks at ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, NamedTuple

from trooper.prices import LIST_PRICES, PriceError, PriceTable, load_prices
from trooper.privacy.custom import CustomRules, RuleError, compile_rules, parse_paths, parse_patterns

DEFAULT_QUOTA_STATUS_CODES = (402, 429, 529)


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _percentile(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0 < value <= 100:
        raise ConfigError(f"{name} must be a percentile above 0 and at most 100, got {value:g}")
    return value


def _codes(raw: str | None) -> tuple[int, ...]:
    if not raw or not raw.strip():
        return DEFAULT_QUOTA_STATUS_CODES
    try:
        return tuple(int(part) for part in raw.replace(";", ",").split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"QUOTA_STATUS_CODES must be a comma-separated list of status codes, got {raw!r}") from exc


class ConfigError(ValueError):
    """A configuration value cannot be used; the message names the variable."""


#: The file ``trooper serve`` and ``trooper doctor`` read settings from, relative to the working
#: directory, unless ``TROOPER_ENV_FILE`` names another (or is empty: no file).
ENV_FILE = ".env"
#: Where a cloud key added while the server runs is saved when the person asks (``TROOPER_KEYS_FILE``;
#: empty: never saved). Read at start, under the environment and the env file.
KEYS_FILE = str(Path.home() / ".trooper" / "keys.env")
#: The cloud providers, in chain order, with the variable that holds each one's key.
KEY_VARIABLES = {"claude": "CLAUDE_API_KEY", "gemini": "GEMINI_API_KEY", "openai": "OPENAI_API_KEY"}


def env_file_assignment(line: str) -> tuple[str, str] | None:
    """The ``(name, raw value)`` a ``.env`` line assigns (``export NAME=value`` too); None for a
    blank line or a comment. A line that is neither is a ``ValueError`` (which never quotes it)."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    name, equals, value = line.removeprefix("export ").partition("=")
    name = name.strip()
    if not equals or not name.isidentifier():
        raise ValueError("expected NAME=value")
    return name, value.strip()


def read_env_file(path: str | Path) -> dict[str, str]:
    """The ``NAME=value`` assignments of a ``.env`` file; ``export NAME=value`` and quoted values
    are understood, blank lines and ``#`` comments skipped. A malformed line is a ``ConfigError``
    naming its line number only: the line may hold a key."""
    assignments: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        try:
            assignment = env_file_assignment(line)
        except ValueError:
            raise ConfigError(f"{path}, line {number}: expected NAME=value") from None
        if assignment is not None:
            name, value = assignment
            assignments[name] = _env_file_value(value)
    return assignments


def _env_file_value(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw.split(" #", 1)[0].rstrip()  # an unquoted value may carry a trailing comment


class FileRead(NamedTuple):
    """A settings file that was read, and the names it set (never their values)."""

    path: Path
    names: list[str]


class Environment(NamedTuple):
    """The variables settings are read from, and what each file contributed."""

    variables: dict[str, str]
    #: The env file, then the keys file, each when it exists.
    files_read: list[FileRead]


def environment_with_env_file(environ: Mapping[str, str] | None = None) -> Environment:
    """``environ`` (default: the process environment) plus what the env file sets that it does
    not, plus the cloud keys saved in the keys file that neither sets: a variable set in the
    environment always wins, as with docker compose and python-dotenv, and a key written by hand
    in the env file wins over one saved from the chat page."""
    variables = dict(os.environ if environ is None else environ)
    files_read: list[FileRead] = []
    env_file = variables.get("TROOPER_ENV_FILE", ENV_FILE).strip()
    if env_file and Path(env_file).is_file():
        files_read.append(_add_missing(variables, Path(env_file), read_env_file(env_file)))
    keys_file = keys_file_path(variables)
    if keys_file and Path(keys_file).is_file():
        saved = {name: value for name, value in read_env_file(keys_file).items() if name in KEY_VARIABLES.values()}
        files_read.append(_add_missing(variables, Path(keys_file), saved))
    return Environment(variables, files_read)


def _add_missing(variables: dict[str, str], path: Path, assignments: dict[str, str]) -> FileRead:
    added = {name: value for name, value in assignments.items() if name not in variables}
    variables.update(added)
    return FileRead(path, sorted(added))


def keys_file_path(env: Mapping[str, str]) -> str:
    """``TROOPER_KEYS_FILE``, ``~`` expanded; unset means ``KEYS_FILE``, empty means none."""
    return os.path.expanduser(env.get("TROOPER_KEYS_FILE", KEYS_FILE).strip())


@dataclass(frozen=True)
class Settings:
    # cloud providers
    claude_api_key: str = field(default="", repr=False)
    claude_url: str = "https://api.anthropic.com/v1/messages"
    claude_model: str = "claude-haiku-4-5-20251001"
    gemini_api_key: str = field(default="", repr=False)
    gemini_url: str = "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"
    gemini_model: str = "gemini-2.0-flash"
    openai_api_key: str = field(default="", repr=False)
    openai_url: str = "https://api.openai.com/v1/chat/completions"
    openai_model: str = "gpt-4o-mini"
    # local tier
    fallback_url: str = "http://localhost:11434/api/chat"
    ollama_model: str = "llama3.1:8b"
    ollama_keep_alive: str = "5m"
    local_openai_url: str = ""
    local_openai_model: str = ""
    local_model_path: str = ""
    embedded_enabled: bool = True
    embedded_queue: int = 4
    escalate_model: str = ""
    local_recheck_seconds: float = 30.0
    context_window: int = 6144
    # routing and resilience
    quota_status_codes: tuple[int, ...] = DEFAULT_QUOTA_STATUS_CODES
    auto_recovery: bool = True
    connect_timeout: float = 5.0
    first_token_timeout: float = 30.0
    idle_timeout: float = 30.0
    provider_timeout: float = 30.0
    retry_backoff: float = 2.0
    max_backoff: float = 10.0
    breaker_failures: int = 3
    breaker_cooldown: float = 30.0
    #: Hedging: once a provider has not started answering after this percentile of its recent
    #: times to first token (never less than ``hedge_floor`` seconds, never more than the
    #: attempt's own budget), the next provider starts too.
    hedge_percentile: float = 95.0
    hedge_floor: float = 1.0
    # privacy (trooper/privacy, docs/security.md#privacy-routing)
    #: ``local``: a turn holding a secret or personal data is answered locally and its session stays
    #: local; ``redact``: the cloud sees placeholders; ``off``: no detection.
    privacy: str = "local"
    #: Whether a client's ``X-Trooper-Route: cloud`` may send a private turn to the cloud.
    privacy_allow_force: bool = False
    #: Whether the store keeps personal data found in a turn in clear (secrets are always masked).
    privacy_store_personal: bool = False
    #: ``TROOPER_PRIVATE_PATTERNS`` and ``TROOPER_PRIVATE_PATHS``, compiled.
    private_rules: CustomRules = field(default_factory=CustomRules, repr=False)
    # server
    port: int = 3000
    bind: str = "127.0.0.1"
    token: str = field(default="", repr=False)
    db_path: str = str(Path.home() / ".trooper" / "trooper.db")
    #: The secret jupyter-server-proxy sends so that a public Host may reach a loopback Trooper
    #: (``trooper.server.hosts``).
    proxy_key_file: str = str(Path.home() / ".trooper" / "proxy-key")
    #: Where cloud keys added while running are saved when asked (mode 0600); "" never saves.
    keys_file: str = KEYS_FILE
    retention_days: int = 30
    max_body_bytes: int = 32 * 1024 * 1024
    max_messages: int = 2000
    max_request_tokens: int = 1_000_000
    #: Upstream turns answered at once, in all and per session; one more waits up to
    #: ``queue_seconds`` for a turn to end, then gets a 429 with retry-after.
    max_streams: int = 64
    max_session_streams: int = 4
    queue_seconds: float = 3.0
    #: One log line per request (Tornado's access log); off by default, errors are logged either way.
    access_log: bool = False
    #: What cloud tokens cost, to show money spent and avoided (``TROOPER_PRICES`` over the list prices).
    prices: PriceTable = field(default_factory=lambda: PriceTable.of(LIST_PRICES), repr=False)
    # notebooks and helpers: a Trooper server to use instead of finding or starting a local one
    url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            claude_api_key=env.get("CLAUDE_API_KEY", "").strip(),
            claude_url=env.get("CLAUDE_URL", "").strip() or d.claude_url,
            claude_model=env.get("CLAUDE_MODEL", "").strip() or d.claude_model,
            gemini_api_key=env.get("GEMINI_API_KEY", "").strip(),
            gemini_url=env.get("GEMINI_URL", "").strip() or d.gemini_url,
            gemini_model=env.get("GEMINI_MODEL", "").strip() or d.gemini_model,
            openai_api_key=env.get("OPENAI_API_KEY", "").strip(),
            openai_url=env.get("OPENAI_URL", "").strip() or d.openai_url,
            openai_model=env.get("OPENAI_MODEL", "").strip() or d.openai_model,
            fallback_url=env.get("FALLBACK_URL", "").strip() or d.fallback_url,
            ollama_model=env.get("OLLAMA_MODEL", "").strip() or d.ollama_model,
            ollama_keep_alive=env.get("OLLAMA_KEEP_ALIVE", "").strip() or d.ollama_keep_alive,
            local_openai_url=env.get("LOCAL_OPENAI_URL", "").strip(),
            local_openai_model=env.get("LOCAL_OPENAI_MODEL", "").strip(),
            local_model_path=env.get("TROOPER_LOCAL_MODEL", "").strip(),
            embedded_enabled=_bool(env.get("TROOPER_EMBEDDED"), d.embedded_enabled),
            embedded_queue=_int(env, "TROOPER_EMBEDDED_QUEUE", d.embedded_queue),
            escalate_model=env.get("TROOPER_ESCALATE_MODEL", "").strip(),
            local_recheck_seconds=_float(env, "TROOPER_LOCAL_RECHECK", d.local_recheck_seconds),
            context_window=_int(env, "CONTEXT_WINDOW", d.context_window),
            quota_status_codes=_codes(env.get("QUOTA_STATUS_CODES")),
            auto_recovery=_bool(env.get("AUTO_RECOVERY"), d.auto_recovery),
            connect_timeout=_float(env, "TROOPER_CONNECT_TIMEOUT", d.connect_timeout),
            first_token_timeout=_float(env, "TROOPER_FIRST_TOKEN_TIMEOUT", d.first_token_timeout),
            idle_timeout=_float(env, "TROOPER_IDLE_TIMEOUT", d.idle_timeout),
            provider_timeout=_float(env, "TROOPER_PROVIDER_TIMEOUT", d.provider_timeout),
            retry_backoff=_float(env, "TROOPER_RETRY_BACKOFF", d.retry_backoff),
            max_backoff=_float(env, "TROOPER_MAX_BACKOFF", d.max_backoff),
            breaker_failures=_int(env, "TROOPER_BREAKER_FAILURES", d.breaker_failures),
            breaker_cooldown=_float(env, "TROOPER_BREAKER_COOLDOWN", d.breaker_cooldown),
            hedge_percentile=_percentile(env, "TROOPER_HEDGE_PERCENTILE", d.hedge_percentile),
            hedge_floor=_float(env, "TROOPER_HEDGE_FLOOR", d.hedge_floor),
            privacy=_privacy(env.get("TROOPER_PRIVACY", "")) or d.privacy,
            privacy_allow_force=_bool(env.get("TROOPER_PRIVACY_ALLOW_FORCE"), d.privacy_allow_force),
            privacy_store_personal=_bool(env.get("TROOPER_PRIVACY_STORE_PERSONAL"), d.privacy_store_personal),
            private_rules=_private_rules(env),
            port=_int(env, "TROOPER_PORT", d.port),
            bind=env.get("TROOPER_BIND", "").strip() or d.bind,
            token=env.get("TROOPER_TOKEN", "").strip(),
            db_path=os.path.expanduser(env.get("TROOPER_DB", "").strip() or d.db_path),
            proxy_key_file=os.path.expanduser(env.get("TROOPER_PROXY_KEY_FILE", "").strip() or d.proxy_key_file),
            keys_file=keys_file_path(env),
            retention_days=_int(env, "TROOPER_RETENTION_DAYS", d.retention_days),
            max_body_bytes=_int(env, "TROOPER_MAX_BODY_BYTES", d.max_body_bytes),
            max_messages=_int(env, "TROOPER_MAX_MESSAGES", d.max_messages),
            max_request_tokens=_int(env, "TROOPER_MAX_REQUEST_TOKENS", d.max_request_tokens),
            max_streams=_int(env, "TROOPER_MAX_STREAMS", d.max_streams),
            max_session_streams=_int(env, "TROOPER_MAX_SESSION_STREAMS", d.max_session_streams),
            queue_seconds=_float(env, "TROOPER_QUEUE_SECONDS", d.queue_seconds),
            access_log=_bool(env.get("TROOPER_ACCESS_LOG"), d.access_log),
            prices=_prices(env.get("TROOPER_PRICES", "")),
            url=env.get("TROOPER_URL", "").strip().rstrip("/"),
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]  # dataclasses.replace checks the names

    def cloud_keys(self) -> dict[str, bool]:
        """Which cloud providers have a key (never the keys themselves)."""
        return {provider: bool(self.cloud_key(provider)) for provider in KEY_VARIABLES}

    def cloud_key(self, provider: str) -> str:
        return str(getattr(self, _key_field(provider)))

    def with_cloud_key(self, provider: str, key: str) -> Settings:
        return self.with_overrides(**{_key_field(provider): key})


def _prices(setting: str) -> PriceTable:
    try:
        return load_prices(setting)
    except PriceError as exc:
        raise ConfigError(str(exc)) from None


PRIVACY_POLICIES = ("local", "redact", "off")


def _privacy(raw: str) -> str:
    policy = raw.strip().lower()
    if policy and policy not in PRIVACY_POLICIES:
        raise ConfigError(f"TROOPER_PRIVACY must be one of {', '.join(PRIVACY_POLICIES)}, got {raw!r}")
    return policy


def _private_rules(env: Mapping[str, str]) -> CustomRules:
    try:
        patterns = parse_patterns(env.get("TROOPER_PRIVATE_PATTERNS", ""))
    except RuleError as exc:
        raise ConfigError(f"TROOPER_PRIVATE_PATTERNS: {exc}") from None
    try:
        return compile_rules(patterns, parse_paths(env.get("TROOPER_PRIVATE_PATHS", "")))
    except RuleError as exc:
        raise ConfigError(f"TROOPER_PRIVATE_PATTERNS: {exc}") from None


def _key_field(provider: str) -> str:
    """The field of ``Settings`` that holds ``provider``'s key (``claude`` → ``claude_api_key``)."""
    if provider not in KEY_VARIABLES:
        raise ValueError(f"unknown cloud provider {provider!r}")
    return f"{provider}_api_key"
