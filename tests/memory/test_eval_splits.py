"""The held-out test splits are the ones written blind: a changed test file must show in review.

``tests/data/test-split.sha256`` records the hash of every test-split file (sessions and routing
turns) as committed by the people who wrote and labelled them (tests/data/LABELLING.md). Editing a
label to match the extractor's output changes a hash, and this test fails until the record is
changed too, in the same reviewed commit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
RECORD = DATA / "test-split.sha256"


def recorded() -> dict[str, str]:
    lines = (line.split(maxsplit=1) for line in RECORD.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in lines}


def test_every_test_split_file_is_recorded_unchanged():
    files = sorted(p.relative_to(DATA).as_posix() for p in [*(DATA / "sessions" / "test").rglob("*.json"), DATA / "routing" / "test.jsonl"])
    record = recorded()
    assert files == sorted(record), "a test-split file was added or removed without updating test-split.sha256"
    for name in files:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == record[name], f"{name} changed"


def test_dev_and_test_splits_share_no_session():
    dev = {p.stem for p in (DATA / "sessions" / "dev").rglob("*.json")}
    test = {p.stem for p in (DATA / "sessions" / "test").rglob("*.json")}
    assert dev and test and not dev & test
