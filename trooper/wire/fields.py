"""Field access for decoding client requests, with errors that name the offending field.

Every helper takes the JSON path of the object it reads (``messages[2].content[0]``) so the
``InvalidRequest`` a client gets says exactly which field is wrong and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

from trooper import json_text
from trooper.errors import InvalidRequest

_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in _JSON_NAMES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def where(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _is(value: Any, kind: type) -> bool:
    # JSON booleans are not numbers, and integers are acceptable numbers.
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def field(obj: dict[str, Any], key: str, kind: type, path: str = "", *, required: bool = False) -> Any:
    """``obj[key]`` checked to be of ``kind``; ``None`` when absent (or JSON null) and not required."""
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidRequest(f"{where(path, key)}: field required")
        return None
    if not _is(value, kind):
        raise InvalidRequest(f"{where(path, key)}: must be {_JSON_NAMES[kind]}, got {json_type(value)}")
    return value


def items(obj: dict[str, Any], key: str, path: str = "", *, required: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The objects of the array ``obj[key]``, each with its own path."""
    values = field(obj, key, list, path, required=required) or []
    array = where(path, key)
    out = []
    for i, value in enumerate(values):
        item_path = f"{array}[{i}]"
        out.append((item_path, value if type(value) is dict else object_at(item_path, value)))
    return out


def object_at(path: str, value: Any) -> dict[str, Any]:
    """``value``, an item of an array at ``path``, checked to be an object."""
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path}: must be an object, got {json_type(value)}")
    return value


@overload
def choice(obj: dict[str, Any], key: str, allowed: tuple[str, ...], path: str = "", *, required: Literal[True]) -> str: ...
@overload
def choice(obj: dict[str, Any], key: str, allowed: tuple[str, ...], path: str = "", *, required: bool = False) -> str | None: ...
def choice(obj: dict[str, Any], key: str, allowed: tuple[str, ...], path: str = "", *, required: bool = False) -> str | None:
    value: str | None = field(obj, key, str, path, required=required)
    if value is not None and value not in allowed:
        raise InvalidRequest(f"{where(path, key)}: must be one of {', '.join(allowed)}; got {value!r}")
    return value


def positive_int(obj: dict[str, Any], key: str, path: str = "", *, required: bool = False) -> int | None:
    return _at_least(1, obj, key, path, required)


def non_negative_int(obj: dict[str, Any], key: str, path: str = "") -> int | None:
    return _at_least(0, obj, key, path, False)


def _at_least(least: int, obj: dict[str, Any], key: str, path: str, required: bool) -> int | None:
    value: int | None = field(obj, key, int, path, required=required)
    if value is not None and value < least:
        raise InvalidRequest(f"{where(path, key)}: must be at least {least}, got {value}")
    return value


def cache_control(obj: dict[str, Any], path: str = "") -> dict[str, Any] | None:
    """A block's, a message's or a tool's prompt-cache hint (``cache_control``), as sent: Claude,
    the one upstream that reads it, validates its type and ttl itself."""
    hint: dict[str, Any] | None = field(obj, "cache_control", dict, path)
    return hint


def string_list(obj: dict[str, Any], key: str, path: str = "") -> list[str]:
    """A list of strings, also accepting one string (OpenAI's ``stop``)."""
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"{where(path, key)}: must be a string or an array of strings, got {json_type(value)}")
    return list(value)


def json_object(text: str, path: str) -> dict[str, Any]:
    """A JSON object encoded as a string (a tool call's ``arguments``); blank text is ``{}``."""
    if not text.strip():
        return {}
    try:
        parsed = json_text.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"{path}: must be a JSON object encoded as a string ({exc}), got {text[:80]!r}") from None
    if not isinstance(parsed, dict):
        raise InvalidRequest(f"{path}: must encode a JSON object, got {json_type(parsed)}")
    return parsed


#: A check of one setting of an object (at a path): its value (checked), or None when absent.
Check = Callable[[dict[str, Any], str, str], Any]


def of(kind: type) -> Check:
    """The check of a setting of JSON type ``kind``."""
    return lambda obj, name, path: field(obj, name, kind, path)


def one_of(*allowed: str) -> Check:
    """The check of a setting that is one of the strings ``allowed``."""
    return lambda obj, name, path: choice(obj, name, allowed, path)


def any_json(obj: dict[str, Any], name: str, path: str) -> Any:
    """The check of a setting of any JSON value (the upstream checks it)."""
    return obj[name]


def unknown(obj: dict[str, Any], read: frozenset[str]) -> dict[str, Any]:
    """The fields of ``obj`` that its decoder does not read (``read``: the names it reads), as
    sent, for the upstream that may know them (most bodies hold none: one set test)."""
    if obj.keys() <= read:
        return {}
    return {name: value for name, value in obj.items() if name not in read}


def settings(obj: dict[str, Any], checks: dict[str, Check], path: str = "") -> dict[str, Any]:
    """The settings of ``checks`` that ``obj`` holds, each checked (a bad one is the client's 400)."""
    kept = {}
    for name, check in checks.items():
        if name in obj:  # most bodies hold none: each check only when its setting is there
            value = check(obj, name, path)
            if value is not None:
                kept[name] = value
    return kept
