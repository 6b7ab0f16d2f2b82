"""Compact JSON text (no spaces, non-ASCII as it is), from one encoder made once.

``json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode`` gives the same text, but
its ``encode`` makes a new C encoder on every call (≈ 1 µs), and every front door's stream writes
an object per event (the Responses API several per part of each block). The C encoder is made once here,
without the circular-reference check (what is encoded here is built by Trooper and never
circular); where Python lacks it, the plain encoder serves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _encoder
from typing import Any


def _not_serialisable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make() -> Callable[[Any], str]:
    make_encoder = getattr(_encoder, "c_make_encoder", None)  # the C accelerator's, when Python has it
    if make_encoder is None:
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    # The arguments ``JSONEncoder.iterencode`` passes: markers (None: no circularity check),
    # default, string encoder, indent, separators, sort_keys, skipkeys, allow_nan.
    chunks = make_encoder(None, _not_serialisable, _encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(chunks(value, 0))


#: ``value`` (parsed JSON, or what Trooper builds of it) as compact JSON text.
encode: Callable[[Any], str] = _make()
#: A string's JSON text, as ``encode`` writes it (the function it calls for strings).
string: Callable[[str], str] = _encoder.encode_basestring
