"""``trooper doctor``: what this machine has, what is missing, and how to fix it.

Each check is independent and says what it found and, when something is missing, the command or
setting that fixes it. Key values are never shown, only whether they are set.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiohttp

from trooper.config import KEY_VARIABLES, ConfigError, Settings
from trooper.errors import UpstreamError
from trooper.providers.embedded import llama_cpp_installed, model_path_from
from trooper.providers.gguf import GGUFError, context_length, read_metadata
from trooper.providers.local import (
    HOW_TO_GET_ONE,
    LocalTier,
    escalation_target,
    list_openai_models,
)
from trooper.providers.ollama_catalog import (
    base_url,
    canonical_name,
    installed_models,
    model_info,
    pull_hint,
)
from trooper.providers.upstream_client import FAILED_EXCHANGE, open_upstream_client
from trooper.routing.privacy import describe_policy
from trooper.store import StoreUnavailable, is_postgres_url, store_label
from trooper.store.schema import SCHEMA_VERSION

#: ``ok``: works; ``off``: optional and not configured; ``warn``: degraded; ``fail``: must be fixed.
Status = Literal["ok", "off", "warn", "fail"]

PROBE_TIMEOUT = 2.0
LLAMA_INSTALL = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install -e ".[local]"'
#: Ollama models described in detail; a machine with more lists the rest by name.
MAX_MODELS_SHOWN = 12


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


#: What asking the port's owner for /health can raise: it may not speak HTTP, nor answer JSON.
_PORT_PROBE_ERRORS: tuple[type[Exception], ...] = (*FAILED_EXCHANGE, ValueError, AttributeError)


async def run_doctor(settings: Settings) -> list[Check]:
    async with open_upstream_client(connect_timeout=PROBE_TIMEOUT, total_timeout=PROBE_TIMEOUT) as client:
        checks = await _ollama_checks(settings, client)
        checks.append(await _local_openai_check(settings, client))
        checks.append(await asyncio.to_thread(_embedded_check, settings))
        checks.append(await _local_tier_check(settings, client))
        checks.append(await _escalation_check(settings, client))
        checks += _cloud_key_checks(settings)
        checks.append(_privacy_check(settings))
        checks.append(await asyncio.to_thread(_store_check, settings))
        if is_postgres_url(settings.db_path):
            checks.append(await asyncio.to_thread(_replicas_check, settings.db_path))
        checks.append(await _port_check(settings, client))
    return checks


def format_report(checks: list[Check]) -> str:
    marks = {"ok": "[ok]  ", "off": "[off] ", "warn": "[warn]", "fail": "[FAIL]"}
    width = max((len(c.name) for c in checks), default=0)
    lines = ["Trooper doctor", ""]
    for check in checks:
        lines.append(f"{marks[check.status]} {check.name.ljust(width)}  {check.detail}")
        if check.fix and check.status in ("warn", "fail"):
            lines.append(f"       {' ' * width}  fix: {check.fix}")
    failures = sum(c.status == "fail" for c in checks)
    warnings = sum(c.status == "warn" for c in checks)
    lines += ["", f"{failures} to fix, {warnings} warnings" if failures or warnings else "Everything looks fine."]
    return "\n".join(lines)


# ---------------------------------------------------------------- local tiers


async def _ollama_checks(settings: Settings, client: aiohttp.ClientSession) -> list[Check]:
    base = base_url(settings.fallback_url)
    try:
        installed = await installed_models(client, base, timeout=PROBE_TIMEOUT)
    except UpstreamError as exc:
        return [Check("ollama", "warn", f"not answering at {base} ({exc.kind})",
                      "install Ollama from https://ollama.com and start it (`ollama serve`), or set FALLBACK_URL")]
    described = []
    for name in installed[:MAX_MODELS_SHOWN]:
        described.append(await _describe_ollama_model(client, base, name))
    described += installed[MAX_MODELS_SHOWN:]
    listing = ", ".join(described) or "no models pulled"
    found = Check("ollama", "ok", f"running at {base}; installed: {listing}")
    wanted = settings.ollama_model
    if canonical_name(wanted) in {canonical_name(m) for m in installed}:
        return [found, Check("ollama model", "ok", f"OLLAMA_MODEL={wanted} is pulled")]
    return [found, Check("ollama model", "warn", pull_hint(wanted), f"ollama pull {wanted}")]


async def _describe_ollama_model(client: aiohttp.ClientSession, base: str, name: str) -> str:
    try:
        info = await model_info(client, base, name, timeout=PROBE_TIMEOUT)
    except UpstreamError:
        return name
    tools = ", tools" if info.supports_tools else ""
    context = f"context {info.context_length}" if info.context_length else "context unknown"
    return f"{name} ({context}{tools})"


async def _local_openai_check(settings: Settings, client: aiohttp.ClientSession) -> Check:
    url = settings.local_openai_url
    if not url:
        return Check("local-openai", "off", "LOCAL_OPENAI_URL is not set (optional: llama.cpp server, LM Studio, vLLM...)")
    try:
        models = await list_openai_models(client, url)
    except UpstreamError as exc:
        return Check("local-openai", "warn", exc.message, "start the server or correct LOCAL_OPENAI_URL")
    model = settings.local_openai_model or (f"{models[0]} (first listed)" if models else "LOCAL_OPENAI_MODEL not set")
    return Check("local-openai", "ok", f"answering at {url}; model {model}")


def _embedded_check(settings: Settings) -> Check:
    if not settings.embedded_enabled:
        return Check("embedded", "off", "disabled by TROOPER_EMBEDDED=false")
    path = model_path_from(settings)
    if path is None:
        return Check("embedded", "warn", "no embedded model installed", LLAMA_INSTALL)
    if not path.is_file():
        return Check("embedded", "fail", f"TROOPER_LOCAL_MODEL points to a missing file: {path}",
                     "set TROOPER_LOCAL_MODEL to a .gguf file, or unset it to use the packaged SmolLM2")
    try:
        trained = context_length(read_metadata(path))
    except (OSError, GGUFError) as exc:
        return Check("embedded", "fail", f"{path} is not a readable GGUF model ({exc})", "point TROOPER_LOCAL_MODEL at a .gguf file")
    context = f"trained context {trained}" if trained else "context length not stated"
    if not llama_cpp_installed():
        return Check("embedded", "warn", f"{path.name} found ({context}) but llama-cpp-python is not installed", LLAMA_INSTALL)
    return Check("embedded", "ok", f"{path} ({context})")


async def _local_tier_check(settings: Settings, client: aiohttp.ClientSession) -> Check:
    tier = LocalTier(settings, client)
    try:
        provider = await tier.select()
        described = tier.describe()
    finally:
        await tier.stop()
    if provider is None:
        return Check("local tier", "fail", "no local model: none of Ollama, LOCAL_OPENAI_URL or the embedded model is usable",
                     HOW_TO_GET_ONE)
    return Check("local tier", "ok", f"{described['tier']} answers locally ({described['model']}, context {described['context_window']})")


async def _escalation_check(settings: Settings, client: aiohttp.ClientSession) -> Check:
    try:
        target = escalation_target(settings, client)
    except ConfigError as exc:
        return Check("escalation", "fail", str(exc), "set TROOPER_ESCALATE_MODEL=ollama:<model> or leave it empty")
    if target is None:
        chain = [name for name, has_key in settings.cloud_keys().items() if has_key]
        if not chain:
            return Check("escalation", "warn", "no cloud key set: hard turns stay on the local model",
                         "set CLAUDE_API_KEY, GEMINI_API_KEY or OPENAI_API_KEY")
        return Check("escalation", "ok", "cloud chain: " + " -> ".join(chain))
    try:
        await target.refresh()
    except UpstreamError as exc:
        return Check("escalation", "warn", f"{settings.escalate_model}: {exc.message}", f"ollama pull {target.model}")
    return Check("escalation", "ok", f"{settings.escalate_model} (context {target.capabilities().context_window})")


# ---------------------------------------------------------------- cloud, store, port


def _cloud_key_checks(settings: Settings) -> list[Check]:
    checks = []
    for provider, has_key in settings.cloud_keys().items():
        variable = KEY_VARIABLES[provider]
        if has_key:
            checks.append(Check(f"{provider} key", "ok", f"{variable} set"))
        else:
            checks.append(Check(f"{provider} key", "off", f"{variable} not set", f"export {variable}=... to escalate to {provider}"))
    return checks


def _privacy_check(settings: Settings) -> Check:
    if settings.privacy == "off":
        return Check("privacy", "warn", describe_policy(settings), "set TROOPER_PRIVACY=local (the default) or redact")
    return Check("privacy", "ok", describe_policy(settings))


def _store_check(settings: Settings) -> Check:
    if is_postgres_url(settings.db_path):
        return _postgres_check(settings.db_path)
    path = Path(settings.db_path).expanduser()
    if path.exists():
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        detail = f"SQLite {path} exists"
    else:
        # The server creates the missing directories: the nearest existing one must be writable.
        existing = next(p for p in path.parents if p.exists())
        writable = os.access(existing, os.W_OK)
        detail = f"SQLite {path} will be created"
    if writable:
        return Check("store", "ok", f"{detail} (writable)")
    return Check("store", "fail", f"{detail} but is not writable", "set TROOPER_DB to a writable path")


def _postgres_check(url: str) -> Check:
    label = store_label(url)
    try:
        from trooper.store.postgres import database_schema_version
    except ImportError:
        return Check("store", "fail", f"{label}: psycopg is not installed", "pip install 'trooper[postgres]'")
    try:
        version = database_schema_version(url, PROBE_TIMEOUT)
    except StoreUnavailable as exc:
        return Check("store", "fail", f"{label} is not reachable: {exc}", "start PostgreSQL or correct TROOPER_DB")
    if version > SCHEMA_VERSION:
        return Check("store", "fail", f"{label} is at schema version {version}, newer than this Trooper ({SCHEMA_VERSION})",
                     "upgrade Trooper")
    if version < SCHEMA_VERSION:
        return Check("store", "ok", f"{label} reachable, schema version {version} (brought to {SCHEMA_VERSION} when Trooper starts)")
    return Check("store", "ok", f"{label} reachable, schema version {version}")


def _replicas_check(url: str) -> Check:
    """The replicas sharing the PostgreSQL store: each writes a heartbeat row every few seconds."""
    try:
        from trooper.store.postgres import replicas_seen
        from trooper.store.postgres_health import SEEN_SECONDS
    except ImportError:
        return Check("replicas", "off", "unknown: psycopg is not installed")
    try:
        seen = replicas_seen(url, PROBE_TIMEOUT)
    except StoreUnavailable:
        return Check("replicas", "off", "unknown: the store is not reachable")
    if not seen:
        return Check("replicas", "off", f"none running (no heartbeat in the last {SEEN_SECONDS:g} s)")
    listing = ", ".join(f"{r.label} (pid {r.pid}, up {_duration(r.up_for)}, seen {r.seen_ago:.0f} s ago)" for r in seen)
    return Check("replicas", "ok", f"{len(seen)} seen in the last {SEEN_SECONDS:g} s: {listing}")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


async def _port_check(settings: Settings, client: aiohttp.ClientSession) -> Check:
    where = f"{settings.bind}:{settings.port}"
    if await asyncio.to_thread(_port_free, settings.bind, settings.port):
        return Check("port", "ok", f"{where} is free")
    try:
        async with client.get(f"http://{settings.bind}:{settings.port}/health") as response:
            is_trooper = response.status == 200 and json.loads(await response.read()).get("service") == "trooper"
    except _PORT_PROBE_ERRORS:
        is_trooper = False
    if is_trooper:
        return Check("port", "ok", f"{where} is in use by a running Trooper")
    return Check("port", "fail", f"{where} is in use by another program", "set TROOPER_PORT to a free port or stop the other program")


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True
