"""Hints the commands print must work as printed, so they repeat where the user pointed this
command: a hint without the ``--data-dir`` or ``--config`` it was given would act on the
default data directory, which may be another cam's (or nobody's).

>>> from pathlib import Path
>>> same_place(argparse.Namespace(data_dir=Path("/srv/front cam"), config=None))
' --data-dir "/srv/front cam"'
>>> same_place(argparse.Namespace(data_dir=None, config=Path("/etc/yardcam/front.toml")))
' --config /etc/yardcam/front.toml'
>>> same_place(argparse.Namespace(data_dir=None, config=None))
''
"""

from __future__ import annotations

import argparse
import shlex

# The options that say which cam or archive a command works on; the rest of a command's
# options are its own business and stay out of a hint.
_PLACE_OPTIONS = ("data_dir", "config", "blobs", "index")


def same_place(args: argparse.Namespace) -> str:
    """The location options ``args`` was given, each as `` --option VALUE`` (shell-quoted);
    ``''`` when none was."""
    words = []
    for name in _PLACE_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            words += [" --" + name.replace("_", "-"), " " + _quote(str(value))]
    return "".join(words)


def _quote(word: str) -> str:
    """Double quotes where the shell needs quotes at all: the hints are printed inside single
    quotes, which ``shlex.quote``'s own would end."""
    quoted = shlex.quote(word)
    if quoted == word or any(c in word for c in '"$`\\!'):
        return quoted
    return f'"{word}"'
