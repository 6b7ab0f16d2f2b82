"""Reads the metadata header of a GGUF model file, without llama.cpp and without the weights.

The doctor and the embedded provider need a model's trained context length before (or without)
loading it; the header is a flat list of typed key/value pairs at the start of the file.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_MAGIC = b"GGUF"
_STRING, _ARRAY = 8, 9
#: Fixed-size value types: GGUF type id -> struct format.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

Scalar = int | float | bool | str


class GGUFError(ValueError):
    """The file is not a GGUF model this reader understands."""


def read_metadata(path: str | Path) -> dict[str, Scalar]:
    """The header's scalar and string values; arrays (the vocabulary) are skipped."""
    with open(path, "rb") as f:
        if f.read(4) != _MAGIC:
            raise GGUFError(f"{path} is not a GGUF file")
        version, _tensors, count = struct.unpack("<IQQ", _exactly(f, 20))
        if version < 2:
            raise GGUFError(f"{path} uses GGUF version {version}; only 2 and later are supported")
        metadata: dict[str, Scalar] = {}
        for _ in range(count):
            key = _read_string(f)
            kind = _unpack(f, "<I")
            if kind == _ARRAY:
                _skip_array(f)
            else:
                metadata[key] = _read_value(f, kind)
        return metadata


def context_length(metadata: dict[str, Scalar]) -> int | None:
    """The trained context length (``<architecture>.context_length``), if the file states it."""
    arch = metadata.get("general.architecture")
    value = metadata.get(f"{arch}.context_length")
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _exactly(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise GGUFError("GGUF header ends early")
    return data


def _unpack(f: BinaryIO, fmt: str) -> int:
    return struct.unpack(fmt, _exactly(f, struct.calcsize(fmt)))[0]


def _read_string(f: BinaryIO) -> str:
    return _exactly(f, _unpack(f, "<Q")).decode("utf-8", errors="replace")


def _read_value(f: BinaryIO, kind: int) -> Scalar:
    if kind == _STRING:
        return _read_string(f)
    if kind in _SCALARS:
        return struct.unpack(_SCALARS[kind], _exactly(f, struct.calcsize(_SCALARS[kind])))[0]
    raise GGUFError(f"unknown GGUF value type {kind}")


def _skip_array(f: BinaryIO) -> None:
    kind = _unpack(f, "<I")
    count = _unpack(f, "<Q")
    if kind in _SCALARS:
        f.seek(count * struct.calcsize(_SCALARS[kind]), 1)
        return
    skip_one: Callable[[], object]
    if kind == _STRING:
        skip_one = lambda: f.seek(_unpack(f, "<Q"), 1)
    elif kind == _ARRAY:
        skip_one = lambda: _skip_array(f)
    else:
        raise GGUFError(f"unknown GGUF array type {kind}")
    for _ in range(count):
        skip_one()
