"""``pip install yardcam`` (no extras) is enough for the ``yardcam`` command.

The test venv has every extra installed, so a module the base install lacks would go unnoticed
here and break the README's first command on a fresh machine. This imports the command in a
fresh interpreter where every distribution outside the base install refuses to import, as it
would be absent; optional imports (brotli, zstandard...) fall back as they do there.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

_BASE_ONLY = """
import importlib.abc, sys
from importlib.metadata import packages_distributions
from packaging.utils import canonicalize_name

allowed = set(sys.argv[1].split(","))
owners = packages_distributions()

class OnlyTheBaseInstall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        dists = owners.get(name.partition(".")[0], [])
        if dists and not any(canonicalize_name(d) in allowed for d in dists):
            raise ModuleNotFoundError(f"No module named {name!r} (not in the base install)")
        return None

sys.meta_path.insert(0, OnlyTheBaseInstall())
import yardcam.cli, yardcam.run
"""


def _base_closure(distribution: str) -> set[str]:
    """``distribution`` and everything its requirements (without extras) pull in."""
    seen: set[str] = set()
    todo = [distribution]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in requires(name) or []:
            requirement = Requirement(spec)
            marker = requirement.marker
            if marker is None or marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_the_yardcam_command_imports_with_the_base_install_only() -> None:
    base = _base_closure("yardcam")
    assert "obstore" not in base  # the scale extra really is left out
    done = subprocess.run(
        # packaging is the check's own tool here, not something yardcam imports.
        [sys.executable, "-c", _BASE_ONLY, ",".join(base | {"packaging"})],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
