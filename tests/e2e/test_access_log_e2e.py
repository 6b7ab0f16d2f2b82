"""Tornado's per-request access log is off unless TROOPER_ACCESS_LOG asks for it; errors are logged."""

from __future__ import annotations

from typing import Callable

import httpx
import pytest

from tests.processes import TrooperProcess


def _log_after_requests(trooper: TrooperProcess) -> str:
    with httpx.Client(base_url=trooper.url, trust_env=False, timeout=10) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/no-such-page").status_code == 404
    trooper.terminate()
    return "".join(trooper.output)


@pytest.mark.parametrize(("setting", "logs_success"), [({}, False), ({"TROOPER_ACCESS_LOG": "true"}, True)], ids=["default", "enabled"])
def test_access_log_setting(trooper_process: Callable[..., TrooperProcess], setting: dict[str, str], logs_success: bool) -> None:
    log = _log_after_requests(trooper_process(**setting))

    assert ("200 GET /health" in log) is logs_success
    assert "404 GET /no-such-page" in log
