"""The store's tables as pandas DataFrames with a fixed schema (docs/dataframes.md): the schemas,
and the one builder that both the server's ``?format=table`` answers and the notebook's
``trooper.sessions()``, ``trooper.turns()``… use, so a frame has the same dtypes wherever it
comes from. Imported only by what needs pandas: ``trooper.store`` itself does not import it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trooper.store.base import Columns

UTC_TIME = "datetime64[ns, UTC]"
#: Categories fixed by the record types; other categoricals take the values present.
ROLES = pd.CategoricalDtype(["system", "user", "assistant", "tool"])

#: Column name -> dtype, in column order, for each frame.
SCHEMAS: dict[str, dict[str, Any]] = {
    "sessions": {
        "session_id": "str",
        "parent_id": "str",
        "source": "category",
        "client": "category",
        "route": "category",
        "title": "str",
        "created_at": UTC_TIME,
        "last_activity": UTC_TIME,
        "intent": "str",
        "first_words": "str",
        "branch": "int64",
        "turn_count": "int64",
        "providers": "object",
        "tokens_saved": "int64",
        "cost_spent": "float64",
        "cost_avoided": "float64",
        "unpriced_turns": "int64",
        "escalations": "int64",
        "fallbacks": "int64",
        "private": "str",
    },
    "turns": {
        "session_id": "str",
        "branch": "int64",
        "seq": "int64",
        "role": ROLES,
        "provider": "category",
        "model": "category",
        "text": "str",
        "content_json": "str",
        "tokens_in": "int64",
        "tokens_out": "int64",
        "tokens_cached": "int64",
        "tokens_saved": "int64",
        "cost_spent": "float64",
        "cost_avoided": "float64",
        "stop_reason": "category",
        "tier": "category",
        "latency_ms": "float64",
        "created_at": UTC_TIME,
    },
    "attempts": {
        "id": "int64",
        "session_id": "str",
        "provider": "category",
        "model": "category",
        "status": "int64",
        "trigger": "category",
        "outcome": "category",
        "error_class": "category",
        "connect_ms": "float64",
        "first_token_ms": "float64",
        "total_ms": "float64",
        "tokens_in": "int64",
        "tokens_out": "int64",
        "created_at": UTC_TIME,
    },
    "events": {
        "id": "int64",
        "session_id": "str",
        "kind": "category",
        "detail": "object",
        "created_at": UTC_TIME,
    },
    "clients": {
        "client": "category",
        "sessions": "int64",
        "tokens_saved": "int64",
        "cost_spent": "float64",
        "cost_avoided": "float64",
        "unpriced_turns": "int64",
    },
    "sitreps": {
        "id": "int64",
        "session_id": "str",
        "intent": "str",
        "turn_count": "int64",
        "sitrep": "object",
        "created_at": UTC_TIME,
    },
}

def build_frame(name: str, columns: Columns) -> pd.DataFrame:
    """The ``name`` frame (a key of ``SCHEMAS``) from the store's columns of that table.

    Categorical columns treat empty text as missing: a user turn has no provider, not provider "".
    """
    frame: dict[str, Any] = {}
    for column, dtype in SCHEMAS[name].items():
        values = columns[column]
        if dtype == UTC_TIME:
            seconds = np.asarray(values, dtype="float64")
            frame[column] = pd.to_datetime(seconds, unit="s", utc=True).astype(UTC_TIME)
        elif isinstance(dtype, pd.CategoricalDtype) or dtype == "category":
            fixed = dtype.categories if isinstance(dtype, pd.CategoricalDtype) else None
            categorical = pd.Categorical(values, categories=fixed)
            if "" in categorical.categories:
                categorical = categorical.remove_categories([""])
            frame[column] = categorical
        else:
            frame[column] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(frame)


def frame_to_table_json(frame: pd.DataFrame) -> str:
    """A frame as pandas' JSON Table Schema: ``pd.read_json(orient="table")`` gets the same dtypes back."""
    text: str = frame.to_json(orient="table", index=False, date_unit="us", force_ascii=False)
    return text
