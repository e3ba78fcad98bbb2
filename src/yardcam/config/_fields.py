"""The machinery both configuration models share: typed keys, their layers and their errors.

A model is a frozen dataclass whose fields are declared with :func:`setting` (the help text, the
check, whether it is secret). :func:`resolve` fills one such dataclass from the layers, lowest
first::

    default < TOML file < YARDCAM_* environment < flag < state (what the dashboard saved)

The dashboard's saved state wins over a flag: it is the newest thing the user said (the
dashboard applies it that way too), and ``config show`` names it as the source. Only the
threshold is saved there today. The loader remembers, per key, which layer won: ``config
show`` prints it next to the value. Every value
is parsed by the field's type hint and then checked; a failure is a :class:`ConfigError` naming
the key, the bad value, where it came from and what to write instead.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._redact import MASK, redact_url

# A check returns None when the value is fine, else "what is wrong" and "how to fix it".
Check = Callable[[Any], tuple[str, str] | None]


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says which, why, and the fix."""

    def __init__(self, key: str, value: object, source: str, problem: str, fix: str) -> None:
        self.key, self.value, self.source = key, value, source
        self.problem, self.fix = problem, fix
        super().__init__(f"{key} = {_shown(value)} (from {source}): {problem}; fix: {fix}")


def _shown(value: object) -> str:
    """A value as the file would spell it, without credentials (errors get logged too)."""
    if value is None:
        return "(not set)"
    if isinstance(value, str):
        value = redact_url(value)
    elif isinstance(value, tuple | list):
        value = [redact_url(v) if isinstance(v, str) else v for v in value]
    return toml_literal(value)


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    check: Check | None = None,
    secret: bool = False,
    flag: str | None = None,
    example: object = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A configurable field: ``help`` is for people, ``check`` validates a parsed value.

    ``secret``: never printed (``***``); URL-valued fields are masked by :func:`redact_url`
    anyway. ``flag``: the command-line spelling, when the key has one. ``example``: the value
    error messages suggest (default: the default).
    """
    meta = {"help": help, "check": check, "secret": secret, "flag": flag, "example": example}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Layers:
    """The raw inputs for one model: a TOML table, environment variables, flags, saved state.

    ``flags`` and ``state`` map field names to already-typed values (argparse did the parsing;
    None means "not given"); ``file`` values come from TOML, ``env`` values are strings.
    """

    file: Mapping[str, Any] = field(default_factory=dict)
    file_name: str = "file"
    env: Mapping[str, str] = field(default_factory=dict)
    env_prefix: str = "YARDCAM_"
    flags: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # computed at load time


def env_name(prefix: str, name: str) -> str:
    return prefix + name.upper()


def flag_name(f: dataclasses.Field[Any]) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def resolve(
    cls: type[Any], layers: Layers, *, key_prefix: str = "", skip: frozenset[str] = frozenset()
) -> tuple[Any, dict[str, str]]:
    """An instance of dataclass ``cls`` from ``layers``, and the winning source of each key.

    Keys in ``skip`` (nested sections, lists) are left to the caller and must be passed to
    ``cls`` by it; unknown keys in the file are refused with the nearest known key as the fix.
    """
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for name, raw in layers.file.items():
        if name not in known and name not in skip:
            raise ConfigError(
                key_prefix + name, raw, layers.file_name, "unknown key", _nearest(name, known)
            )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, f in known.items():
        if name in skip:
            continue
        key = key_prefix + name
        hint = hints[name]
        value = layers.defaults[name] if name in layers.defaults else _default(f)
        source = "default"
        if name in layers.file:
            value = _coerce(key, hint, layers.file[name], layers.file_name, from_text=False, f=f)
            source = layers.file_name
        env_key = env_name(layers.env_prefix, name)
        if env_key in layers.env:
            source = f"env {env_key}"
            value = _coerce(key, hint, layers.env[env_key], source, from_text=True, f=f)
        if layers.flags.get(name) is not None:
            source = f"flag {flag_name(f)}"
            value = layers.flags[name]
            if isinstance(value, list):
                value = tuple(value)
        if layers.state.get(name) is not None:
            source = "state"
            value = _coerce(key, hint, layers.state[name], source, from_text=False, f=f)
        check: Check | None = f.metadata.get("check")
        if check is not None and (failure := check(value)) is not None:
            raise ConfigError(key, value, source, *failure)
        values[name] = value
        sources[key] = source
    return values, sources


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"{f.name} has no default")  # a model bug, not a user error


def _nearest(name: str, known: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"did you mean {close[0]!r}? (`yardcam config show` lists every key)"
    return "remove it (`yardcam config show` lists every key)"


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _coerce(
    key: str, hint: Any, raw: Any, source: str, *, from_text: bool, f: dataclasses.Field[Any]
) -> Any:
    """``raw`` as the type ``hint`` names; env values are text, TOML values typed already."""
    example = f.metadata.get("example")
    if example is None:
        example = _default(f) if f.default is not dataclasses.MISSING else None

    def bad(what: str) -> ConfigError:
        shown = f" e.g. {toml_literal(example)}" if example not in (None, ()) else ""
        return ConfigError(key, raw, source, f"expected {what}", f"write {what}{shown}")

    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        if raw is None or (from_text and str(raw).strip().lower() in {"", "none"}):
            return None
        inner = next(a for a in args if a is not type(None))
        return _coerce(key, inner, raw, source, from_text=from_text, f=f)
    if origin is Literal:
        if raw not in args:
            choices = " or ".join(repr(a) for a in args)
            raise ConfigError(key, raw, source, "not a known choice", f"use {choices}")
        return raw
    if hint is bool:
        if from_text and str(raw).strip().lower() in _TRUE | _FALSE:
            return str(raw).strip().lower() in _TRUE
        if isinstance(raw, bool):
            return raw
        raise bad("true or false")
    if hint is int:
        try:
            if isinstance(raw, bool) or (not from_text and not isinstance(raw, int)):
                raise ValueError
            return int(raw)
        except ValueError:
            raise bad("a whole number") from None
    if hint is float:
        try:
            if isinstance(raw, bool) or (not from_text and not isinstance(raw, int | float)):
                raise ValueError
            value = float(raw)
        except ValueError:
            raise bad("a number") from None
        if not math.isfinite(value):
            raise bad("a finite number")
        return value
    if hint is str:
        if not isinstance(raw, str):
            raise bad("a string")
        return raw
    if hint is Path:
        if not isinstance(raw, str | Path) or not str(raw):
            raise bad("a path")
        return Path(raw).expanduser()
    if origin is tuple:
        if from_text and isinstance(raw, str):
            raw = raw.split()  # env: space-separated (zones and origins hold commas)
        if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
            raise bad("a list of strings")
        return tuple(raw)
    raise TypeError(f"{key}: unsupported setting type {hint!r}")  # a model bug


def toml_literal(value: object) -> str:
    """``value`` as it would be written in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return str(value)


def shown_value(f: dataclasses.Field[Any], value: object) -> str:
    """How ``config show`` prints a value: secrets masked, URLs without their credentials."""
    if value is None:
        return "(not set)"
    if f.metadata.get("secret"):
        return MASK
    if isinstance(value, str) and "://" in value:
        value = redact_url(value)
    elif isinstance(value, tuple):
        value = tuple(redact_url(v) if "://" in v else v for v in value)
    return toml_literal(value)


@dataclass(frozen=True, slots=True)
class Loaded:
    """A resolved configuration, the winning source of every key, and the file read (if any)."""

    config: Any
    sources: dict[str, str]
    file: Path
    file_found: bool
    order: str = "default < file < env < flag < state (the dashboard's saved changes)"


def section_table(doc: Mapping[str, Any], name: str, file_name: str) -> Mapping[str, Any]:
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(name, table, file_name, "must be a table", f"write it as [{name}]")
    return table


def resolve_tables(
    tables: Mapping[str, type[Any]],
    doc: Mapping[str, Any],
    file_name: str,
    env: Mapping[str, str],
    env_prefix: str,
    flags: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Each ``[name]`` table of ``doc`` as its dataclass, from the same layers as the top level
    (``{env_prefix}{NAME}_KEY`` variables, ``flags[name]``), and the source of each ``name.key``.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, cls in tables.items():
        table_values, table_sources = resolve(
            cls,
            Layers(
                file=section_table(doc, name, file_name),
                file_name=file_name,
                env=env,
                env_prefix=f"{env_prefix}{name.upper()}_",
                flags=flags.get(name) or {},
            ),
            key_prefix=f"{name}.",
        )
        values[name] = cls(**table_values)
        sources.update(table_sources)
    return values, sources


# -- checks shared by both models ---------------------------------------------------------------


def at_least(low: float, fix: str | None = None) -> Check:
    def check(value: Any) -> tuple[str, str] | None:
        if value is not None and value < low:
            return f"must be at least {low:g}", fix or f"use a value >= {low:g}"
        return None

    return check


def within(low: float, high: float) -> Check:
    def check(value: Any) -> tuple[str, str] | None:
        if value is not None and not low <= value <= high:
            return f"must be within {low:g}..{high:g}", f"use a number from {low:g} to {high:g}"
        return None

    return check


def tcp_port(value: Any) -> tuple[str, str] | None:
    if not 0 <= value <= 65535:
        return "not a TCP port", "use a port from 1 to 65535 (0: any free port)"
    return None


def existing_file(value: Any) -> tuple[str, str] | None:
    if value is not None and not Path(value).is_file():
        return "no such file", "give the path of an existing file (absolute, or from the cwd)"
    return None


def all_of(*checks: Check) -> Check:
    def check(value: Any) -> tuple[str, str] | None:
        for c in checks:
            if (failure := c(value)) is not None:
                return failure
        return None

    return check
