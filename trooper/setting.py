"""How one setting is declared: its environment variable, how the variable is read, its default as
a person writes it, and one line of help.

``Settings`` (``trooper/config.py``) declares each of its fields with ``setting(...)``; reading the
environment, the README's settings table and ``.env.example`` (``trooper/settings_docs.py``) are
all derived from those declarations, so a setting is added in one place.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
#: Reads one variable: ``(environment, variable name, default) -> value``; bad input is a ``ConfigError``.
Reader = Callable[[Mapping[str, str], str, T], T]
#: The key of a ``Settings`` field's metadata that holds its ``Variable``.
METADATA_KEY = "trooper.variable"


class ConfigError(ValueError):
    """A configuration value cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Variable(Generic[T]):
    """One environment variable: how it is read and how it is documented."""

    name: str
    #: One line of Markdown for the README's table.
    meaning: str
    reader: Reader[T]
    #: The default as one writes it in the environment (``~/.trooper/trooper.db``, ``true``, ``30``);
    #: ``""`` when unset means the default. Written to ``.env.example``.
    written_default: str
    #: The README's default column when the written default would not say it (Markdown).
    shown_default: str | None = None
    #: False leaves the variable out of ``.env.example`` (the field's declaration says why).
    in_example: bool = True
    #: A heading in ``.env.example`` above this variable, the first of a group.
    section: str = ""

    def read(self, env: Mapping[str, str], default: T) -> T:
        return self.reader(env, self.name, default)

    def readme_default(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        return f"`{self.written_default}`" if self.written_default else "—"


def setting(
    default: T,
    name: str,
    meaning: str,
    *,
    reader: Reader[T] | None = None,
    written: str | None = None,
    shown: str | None = None,
    in_example: bool = True,
    section: str = "",
    secret: bool = False,
    in_repr: bool = True,
    factory: Callable[[], T] | None = None,
) -> T:
    """A ``Settings`` field read from the variable ``name``. The reader follows the default's type
    (str, bool, int, float) unless given; ``written`` is the default as written in the environment
    when ``str(default)`` is not it. A ``secret`` (a key, a token) has an empty default, is left out
    of the repr, and so is never printed nor written to a generated file."""
    if secret and default != "":
        raise ValueError(f"{name}: a secret setting has no default")
    variable = Variable(
        name, meaning, reader or _reader_for(default), _written(default) if written is None else written,
        shown, in_example, section,
    )
    metadata = {METADATA_KEY: variable}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata, repr=in_repr and not secret)
    return field(default=default, metadata=metadata, repr=in_repr and not secret)


def variable_of(settings_field: Field[Any]) -> Variable[Any]:
    variable: Variable[Any] = settings_field.metadata[METADATA_KEY]
    return variable


def _written(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value)
    return str(value)


def _reader_for(default: object) -> Reader[Any]:
    readers: dict[type, Reader[Any]] = {bool: as_bool, int: as_int, float: as_float, str: as_text}
    try:
        return readers[type(default)]
    except KeyError:
        raise TypeError(f"no reader for a {type(default).__name__} setting: give one") from None


def as_text(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def as_path(env: Mapping[str, str], name: str, default: str) -> str:
    return os.path.expanduser(as_text(env, name, default))


def as_unless_set(env: Mapping[str, str], name: str, default: str) -> str:
    """Unset means ``default``; set but empty means none (``""``)."""
    return env.get(name, default).strip()


def as_file_or_none(env: Mapping[str, str], name: str, default: str) -> str:
    """A path, ``~`` expanded: unset means ``default``, empty means none."""
    return os.path.expanduser(as_unless_set(env, name, default))


def as_base_url(env: Mapping[str, str], name: str, default: str) -> str:
    return as_text(env, name, default).rstrip("/")


def as_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip()
    if not value:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def as_int(env: Mapping[str, str], name: str, default: int) -> int:
    return _as_number(env, name, default, int, "a whole number")


def as_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _as_number(env, name, default, float, "a number")


N = TypeVar("N", int, float)


def _as_number(env: Mapping[str, str], name: str, default: N, parse: Callable[[str], N], what: str) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from exc


def as_percentile(env: Mapping[str, str], name: str, default: float) -> float:
    value = as_float(env, name, default)
    if not 0 < value <= 100:
        raise ConfigError(f"{name} must be a percentile above 0 and at most 100, got {value:g}")
    return value


def as_status_codes(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return tuple(int(part) for part in raw.replace(";", ",").split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be a comma-separated list of status codes, got {raw!r}") from exc
