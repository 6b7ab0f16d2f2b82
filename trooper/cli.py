"""The ``trooper`` command: ``serve`` runs the server, ``doctor`` says what Trooper finds.

Both read their settings from the environment plus a ``.env`` file in the working directory
(``TROOPER_ENV_FILE`` names another, or none when empty), plus the cloud keys saved in
``~/.trooper/keys.env`` (``TROOPER_KEYS_FILE``); the environment wins, then the ``.env`` file."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from typing import Any, Coroutine

from trooper.config import ConfigError, Settings, environment_with_env_file
from trooper.server.hosts import is_loopback_name
from trooper.store import StoreUnavailable, store_label
from trooper.wording import counted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trooper", description="Local-first LLM proxy and notebook workspace.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the proxy, the chat page and the dashboard")
    serve.add_argument("--port", type=int, help="port to listen on (default: TROOPER_PORT or 3000)")
    serve.add_argument("--bind", help="address to bind (default: TROOPER_BIND or 127.0.0.1)")
    serve.add_argument("--db", help="session store: a SQLite path or a postgresql:// URL (default: TROOPER_DB or ~/.trooper/trooper.db)")
    serve.add_argument(
        "--insecure", action="store_true", help="allow binding a non-loopback address without TROOPER_TOKEN"
    )
    commands.add_parser("doctor", help="check local models, cloud keys, store and port, with fixes")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    environment = environment_with_env_file()
    for file in environment.files_read:
        # Names only: the values are keys and tokens.
        taken = ", ".join(file.names) or "nothing (the environment sets every variable it names)"
        print(f"trooper: read {file.path}: {taken}", flush=True)
    settings = Settings.from_env(environment.variables)
    # Only ``serve`` takes these options; ``doctor`` reads the environment (and .env) alone.
    given = {"port": getattr(args, "port", None), "bind": getattr(args, "bind", None), "db_path": getattr(args, "db", None)}
    overrides = {k: v for k, v in given.items() if v is not None}
    return settings.with_overrides(**overrides)


async def _serve(settings: Settings) -> None:
    from trooper.server.runtime import Runtime

    runtime = await Runtime.start(settings)
    _tune_collector()
    print(runtime.banner(), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    print("Trooper shutting down: finishing streams and flushing the store...", flush=True)
    await runtime.stop()


#: Allocations between two young collections of the garbage collector while serving. Python's
#: 700 ran one every few turns, ~0.3 ms of CPU per proxied turn under many clients (bench/README.md).
GC_YOUNG_THRESHOLD = 10_000


def _tune_collector() -> None:
    """Once the server is up: what starting allocated (modules, settings, the app) leaves the
    collector's view (``gc.freeze``), so a full collection walks only what serving allocated, and
    young collections run less often. Cycles are still collected, later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _run(main_coroutine: Coroutine[Any, Any, None]) -> None:
    """Run the server on uvloop, whose event loop costs less CPU per proxied request than
    asyncio's (bench/README.md); uvloop does not exist on Windows, where asyncio's loop serves."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_coroutine)
    else:
        uvloop.run(main_coroutine)


#: A token that guards a public bind: long enough, and not one character repeated.
MIN_TOKEN_CHARS = 16
MIN_TOKEN_DISTINCT = 8


def token_weakness(token: str) -> str | None:
    """Why ``token`` is too weak to guard a public bind, or None."""
    if len(token) < MIN_TOKEN_CHARS:
        return f"{counted(len(token), 'character')}, fewer than {MIN_TOKEN_CHARS}"
    if len(set(token)) < MIN_TOKEN_DISTINCT:
        return f"only {counted(len(set(token)), 'different character')}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"trooper: {exc}", file=sys.stderr)
        return 2
    if not settings.access_log:
        # A line per request is CPU on the proxy's event loop; Tornado logs 4xx/5xx as warnings.
        logging.getLogger("tornado.access").setLevel(logging.WARNING)
    if args.command == "doctor":
        from trooper.doctor import format_report, run_doctor

        checks = asyncio.run(run_doctor(settings))
        print(format_report(checks))
        return 1 if any(check.status == "fail" for check in checks) else 0
    loopback = is_loopback_name(settings.bind)
    if not loopback and not settings.token and not args.insecure:
        print(
            f"trooper: refusing to bind {settings.bind} without TROOPER_TOKEN: anyone who can reach it could use "
            "your API keys and read every conversation. Set TROOPER_TOKEN, or pass --insecure to do it anyway.",
            file=sys.stderr,
        )
        return 2
    weakness = token_weakness(settings.token) if settings.token and not loopback else None
    if weakness:
        print(
            f"trooper: refusing to bind {settings.bind} with a weak TROOPER_TOKEN ({weakness}): it is all that "
            "stands between the network and your API keys. Make one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(24))'",
            file=sys.stderr,
        )
        return 2
    if not loopback and args.insecure and not settings.token:
        print(f"trooper: WARNING: serving on {settings.bind} with no access token (--insecure).", file=sys.stderr)
    try:
        _run(_serve(settings))
    except StoreUnavailable as exc:
        print(f"trooper: cannot open the store {store_label(settings.db_path)}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"trooper: cannot listen on {settings.bind}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
