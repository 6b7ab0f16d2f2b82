"""A function tool's schema as OpenAI's strict mode takes it, for a Responses-API tool whose client
left ``strict`` out.

The Responses API treats an omitted ``strict`` as true and normalises the schema into strict mode
itself: every object gets ``additionalProperties: false`` and all its properties required (which
can make an optional field mandatory). Chat Completions does not: sent ``strict: true`` with a
schema not already in that form, it refuses the request (400). So a Responses tool passed on with
``strict`` implied carries the schema normalised here, as OpenAI would have normalised it.
"""

from __future__ import annotations

from typing import Any

#: The keys whose value is one subschema, and those whose value is a list or a map of them.
_ONE = ("items", "not")
_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "$defs", "definitions")


def normalised(schema: dict[str, Any]) -> dict[str, Any] | None:
    """``schema`` in strict form (a copy), or None when an object in it allows properties it does
    not name (``additionalProperties`` true or a schema, or no ``properties`` at all: any object),
    which strict mode cannot express."""
    out = dict(schema)
    for key in _ONE:
        if isinstance(out.get(key), dict):
            inner = normalised(out[key])
            if inner is None:
                return None
            out[key] = inner
    for key in _LIST:
        if isinstance(out.get(key), list):
            parts = [normalised(part) if isinstance(part, dict) else part for part in out[key]]
            if None in parts:
                return None
            out[key] = parts
    for key in _MAP:
        if isinstance(out.get(key), dict):
            members = {name: normalised(sub) if isinstance(sub, dict) else sub for name, sub in out[key].items()}
            if None in members.values():
                return None
            out[key] = members
    if out.get("type") == "object" or "properties" in out:
        names_its_properties = "properties" in out or out.get("additionalProperties") is False
        if not names_its_properties or out.get("additionalProperties", False) is not False:
            return None
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties") or {})
    return out
