"""``random_ids``: random hex as ``secrets.token_hex`` gives it, from one ``os.urandom`` call per pool."""

from __future__ import annotations

import os
import re

import pytest

from trooper import random_ids
from trooper.random_ids import RandomPool


def test_each_token_is_random_hex_of_its_length_and_handed_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: list[int] = []
    real_urandom = os.urandom

    def urandom(size: int) -> bytes:
        draws.append(size)
        return real_urandom(size)

    monkeypatch.setattr(random_ids.os, "urandom", urandom)
    pool = RandomPool(size=100)
    tokens = [pool.token_hex(24) for _ in range(40)]
    assert all(re.fullmatch("[0-9a-f]{48}", token) for token in tokens)
    assert len(set(tokens)) == 40
    assert draws == [100] * 10, "one call per pool: four 24-byte tokens from each 100 bytes"
    assert len(pool.token_hex(300)) == 600 and draws[-1] == 300, "a token larger than the pool gets a draw of its own"


def test_what_is_left_is_forgotten_and_drawn_anew() -> None:
    pool = RandomPool(size=64)
    first = pool.token_hex(8)
    pool.forget()
    assert pool.token_hex(8) != first


def test_a_forked_child_does_not_hand_out_its_parents_bytes() -> None:
    random_ids.token_hex(8)  # the pool holds bytes the parent has not handed out yet
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, random_ids.token_hex(16).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    assert os.read(read, 64).decode() != random_ids.token_hex(16)
    os.close(read)
