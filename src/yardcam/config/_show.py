"""``config show``: the effective configuration as TOML, with the source of every key.

The output is itself a valid configuration file (secrets masked as ``"***"``), so a user can
start a file from it; each line ends with a comment saying which layer set the value.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ._fields import Loaded, shown_value

_WIDTH = 44


def render(loaded: Loaded) -> str:
    where = f"{loaded.file}" + ("" if loaded.file_found else " (not found: none read)")
    lines = [
        f"# effective configuration; sources: {loaded.order}",
        f"# file: {where}",
    ]
    config = loaded.config
    tables: list[tuple[str, Any]] = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            tables.append((f"[{f.name}]", (value, f"{f.name}.")))
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                tables.append(("[[camera]]", (item, f"camera[{i}].")))
        else:
            lines.append(_line(f, value, loaded.sources.get(f.name, "default")))
    for header, (section, prefix) in tables:
        lines += ["", header]
        for f in dataclasses.fields(section):
            source = loaded.sources.get(prefix + f.name, "default")
            lines.append(_line(f, getattr(section, f.name), source))
    return "\n".join(lines) + "\n"


def _line(f: dataclasses.Field[Any], value: object, source: str) -> str:
    text = f"{f.name} = {shown_value(f, value)}"
    if value is None:
        text = f"# {f.name} = (not set)"
    return f"{text:<{_WIDTH}} # {source}"
