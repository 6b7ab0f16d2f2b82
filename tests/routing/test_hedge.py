"""The hedge delay: a percentile of a provider's recent times to first token, with a floor."""

from __future__ import annotations

import pytest

from trooper.config import ConfigError, Settings
from trooper.routing.hedge import HISTORY_SIZE, MIN_SAMPLES, FirstTokenTimes, Key

CLAUDE = Key("claude", "claude-haiku-4-5", streaming=True)


def times(*seconds: float, percentile: float = 95, floor: float = 0.0, key: Key = CLAUDE) -> FirstTokenTimes:
    history = FirstTokenTimes(percentile, floor)
    for value in seconds:
        history.record(key, value)
    return history


def test_no_delay_until_the_provider_has_answered_enough_times() -> None:
    assert times().hedge_delay(CLAUDE) is None
    assert times(*[1.0] * (MIN_SAMPLES - 1)).hedge_delay(CLAUDE) is None
    assert times(*[1.0] * MIN_SAMPLES).hedge_delay(CLAUDE) == 1.0


def test_the_delay_is_the_percentile_of_the_recent_times() -> None:
    hundred = [i / 100 for i in range(1, 101)]  # 0.01 … 1.00, of which the last HISTORY_SIZE are kept
    kept = hundred[-HISTORY_SIZE:]
    assert times(*hundred, percentile=95).hedge_delay(CLAUDE) == kept[round(0.95 * HISTORY_SIZE) - 1]
    assert times(*hundred, percentile=100).hedge_delay(CLAUDE) == 1.0
    assert times(*hundred, percentile=50).hedge_delay(CLAUDE) == kept[HISTORY_SIZE // 2 - 1]


def test_old_times_are_forgotten() -> None:
    history = times(*[9.0] * HISTORY_SIZE, percentile=100)
    for _ in range(HISTORY_SIZE - 1):
        history.record(CLAUDE, 1.0)
    assert history.hedge_delay(CLAUDE) == 9.0, "one slow time is still among the recent ones"
    history.record(CLAUDE, 1.0)
    assert history.hedge_delay(CLAUDE) == 1.0


def test_the_floor_bounds_the_delay_from_below() -> None:
    assert times(*[0.2] * MIN_SAMPLES, floor=1.0).hedge_delay(CLAUDE) == 1.0
    assert times(*[3.0] * MIN_SAMPLES, floor=1.0).hedge_delay(CLAUDE) == 3.0


def test_each_provider_model_and_mode_has_its_own_history() -> None:
    history = times(*[0.5] * MIN_SAMPLES)
    assert history.hedge_delay(Key("claude", "claude-opus-4-1", streaming=True)) is None
    assert history.hedge_delay(Key("claude", "claude-haiku-4-5", streaming=False)) is None
    assert history.hedge_delay(Key("openai", "claude-haiku-4-5", streaming=True)) is None


def test_settings() -> None:
    settings = Settings.from_env({})
    assert (settings.hedge_percentile, settings.hedge_floor) == (95.0, 1.0)
    settings = Settings.from_env({"TROOPER_HEDGE_PERCENTILE": "99", "TROOPER_HEDGE_FLOOR": "0.5"})
    assert (settings.hedge_percentile, settings.hedge_floor) == (99.0, 0.5)
    for wrong in ("0", "101", "-5"):
        with pytest.raises(ConfigError, match="TROOPER_HEDGE_PERCENTILE"):
            Settings.from_env({"TROOPER_HEDGE_PERCENTILE": wrong})
