"""JSON text from outside (clients, upstreams, tool arguments), read the one way Trooper accepts it.

Two things plain ``json.loads`` lets through that break Trooper further on:

- **lone surrogates** (``"\\ud800"``): JavaScript clients produce them when they cut a string
  inside an emoji, and some upstreams stream them. Python keeps them in a ``str`` that cannot be
  encoded as UTF-8, so the store, the SSE writer and the upstream request all fail on them. They
  are **replaced with U+FFFD**, the way browsers' ``TextEncoder`` does, rather than refused: a
  user whose message was cut mid-emoji keeps a working conversation, and a stream from an upstream
  is never lost for one bad character. The same text always becomes the same, so a resent
  history is still recognised turn by turn.
- ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON: forwarded, they make the upstream's
  JSON invalid. They are refused (``ValueError``), as are integers too long to convert.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator
from typing import Any

REPLACEMENT = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: A lone surrogate can only arrive as a ``\u`` escape (raw UTF-8 cannot encode one): text
#: without ``\ud`` / ``\uD`` needs no walk over what it decodes to.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def scrub(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return _LONE_SURROGATE.sub(REPLACEMENT, text)


#: Types that hold no string: returned as they are without the checks below.
_SCALARS = frozenset({int, float, bool, type(None)})


def map_strings(value: Any, change: Callable[[str], str], *, keys: bool = False, skip: Collection[str] = ()) -> Any:
    """``value`` (parsed JSON) with ``change`` applied to every string in it, and to the keys of
    its objects when ``keys``; what an object holds under a key in ``skip`` is left as it is."""
    return _walk(value, change, keys, skip)


# The store mask walks every turn's blocks and every kept response with ``map_strings``: a walk
# dispatching on the exact type first, its options passed by position, costs a third less than
# recursing through ``map_strings`` (keywords, three isinstance checks for each number). Module
# functions, not closures: a closure calling itself is a reference cycle, garbage that only the
# collector frees, made on every call.


def _walk(value: Any, change: Callable[[str], str], keys: bool, skip: Collection[str]) -> Any:
    kind = type(value)
    if kind is str:
        return change(value)
    if kind is dict:
        return _walk_dict(value, change, keys, skip)
    if kind is list:
        return [_walk(item, change, keys, skip) if type(item) not in _SCALARS else item for item in value]
    if kind in _SCALARS:
        return value
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_walk(item, change, keys, skip) for item in value]
    if isinstance(value, dict):
        return _walk_dict(value, change, keys, skip)
    return value


def _walk_dict(value: dict[str, Any], change: Callable[[str], str], keys: bool, skip: Collection[str]) -> dict[str, Any]:
    if keys:
        return {change(key): item if key in skip else _walk(item, change, keys, skip) for key, item in value.items()}
    # A value that is a string or holds none is handled here, without a call: most of a kept
    # response's (its status, usage, flags) and of a block's. A loop: a third faster than the
    # comprehension with these tests inside.
    walked = {}
    for key, item in value.items():
        kind = type(item)
        if kind is str:
            walked[key] = item if key in skip else change(item)
        elif kind in _SCALARS or key in skip:
            walked[key] = item
        else:
            walked[key] = _walk(item, change, keys, skip)
    return walked


def map_strings_shared(
    value: Any, change: Callable[[str], str], *, skip: Collection[str] = (), as_is: Collection[str] = ()
) -> Any:
    """``map_strings(value, change, skip=skip)`` (an equal value), but with each list and object
    none of whose strings ``change`` changes given back as it is: ``result is value`` says nothing
    changed, and nothing was copied to find it out (a kept Responses body, most of which the store
    mask leaves as it is). What is changed is copied, its containers with it; ``value`` is never
    changed. The same calls of ``change``, in the same order, as ``map_strings``, but for strings
    in ``as_is``, which the caller knows ``change`` to leave as they are."""
    return _shared(value, change, skip, as_is)


def _shared(value: Any, change: Callable[[str], str], skip: Collection[str], as_is: Collection[str]) -> Any:
    if isinstance(value, str):
        if value in as_is:
            return value
        changed = change(value)
        return value if changed is value or changed == value else changed
    if isinstance(value, dict):
        return _shared_dict(value, change, skip, as_is)
    if isinstance(value, list):
        return _shared_list(value, change, skip, as_is)
    return value


# Each container is handled in its parent's loop when it is empty, and a dict or list is walked by
# its own function at once: a kept response holds a dozen small containers (usage, its output
# item's parts, empty annotations), and a call costs more than its work.


def _shared_list(value: list[Any], change: Callable[[str], str], skip: Collection[str], as_is: Collection[str]) -> list[Any]:
    copied = None
    for at, item in enumerate(value):
        kind = type(item)
        if kind in _SCALARS:
            continue
        walked = _shared_dict(item, change, skip, as_is) if kind is dict else _shared(item, change, skip, as_is)
        if walked is not item:
            if copied is None:
                copied = list(value)
            copied[at] = walked
    return value if copied is None else copied


def _shared_dict(
    value: dict[str, Any], change: Callable[[str], str], skip: Collection[str], as_is: Collection[str]
) -> dict[str, Any]:
    copied = None
    walked: Any
    for key, item in value.items():
        kind = type(item)
        if kind in _SCALARS or key in skip:
            continue
        if kind is str:
            if item in as_is:
                continue
            walked = change(item)
            if walked is item or walked == item:
                continue
        elif kind is dict or kind is list:
            if not item:
                continue
            walked = _shared_dict(item, change, skip, as_is) if kind is dict else _shared_list(item, change, skip, as_is)
            if walked is item:
                continue
        else:
            walked = _shared(item, change, skip, as_is)
            if walked is item:
                continue
        if copied is None:
            copied = dict(value)
        copied[key] = walked
    return value if copied is None else copied


def strings(value: Any, *, skip: Collection[str] = ()) -> Iterator[str]:
    """Every string in ``value`` (parsed JSON), in order, but what its objects hold under a key
    in ``skip`` (the same rule as ``map_strings``)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, skip=skip)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in skip:
                yield from strings(item, skip=skip)


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN/Infinity and replaces lone surrogates with U+FFFD.

    Raises ``ValueError`` (``json.JSONDecodeError`` for malformed text) like ``json.loads``, and
    for integers over Python's digit limit and for nesting past the recursion limit.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    return map_strings(value, scrub, keys=True) if _ESCAPED_SURROGATE.search(text) else value
