"""The architecture's one direction of flow, pinned: each package imports only the layers below it.

camera -> motion -> outbox -> (network) -> archive; ``dashboard`` reads camera/motion state; ``web``
is shared by the two web apps; ``requests`` imports nothing else of yardcam; the cam side and the
archive service never import each other (they meet only over HTTP). ``durable`` (crash-safe file
writes), ``names`` (the cam names both sides accept) and ``log_throttle`` (one line per interval
for a repeating failure) are the lowest layer, open to all but ``requests``. ``cli``/``run`` wire
all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "yardcam"

LOWEST = {"durable", "log_throttle", "names"}
ALLOWED: dict[str, set[str]] = {
    "durable": set(),
    "names": set(),
    "log_throttle": set(),
    "requests": set(),
    "web": LOWEST,
    "camera": {"requests"} | LOWEST,
    "motion": {"camera"} | LOWEST,
    "outbox": {"requests", "camera", "motion"} | LOWEST,
    "dashboard": {"camera", "motion", "web"} | LOWEST,
    # The archive's S3 store creates its bucket with a presigned PUT (obstore has no
    # CreateBucket): an HTTP client call, through the one HTTP client, not a way to the cam.
    "archive": {"web", "requests"} | LOWEST,
}


def _yardcam_imports(package: str) -> dict[str, set[Path]]:
    """Top-level yardcam packages (or modules) imported anywhere in ``package`` -> the files."""
    found: dict[str, set[Path]] = {}
    single = SRC / f"{package}.py"
    for path in [single] if single.exists() else (SRC / package).rglob("*.py"):
        depth = len(path.relative_to(SRC).parts)  # how many leading dots climb to yardcam itself
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    module = node.module or ""
                elif node.level >= depth:  # relative import that climbs to yardcam itself
                    module = "yardcam" + (f".{node.module}" if node.module else "")
                else:
                    continue
                # ``from yardcam import requests`` names the package in the imported names.
                suffix = [f"{module}.{a.name}" for a in node.names] if module == "yardcam" else []
                names = [module, *suffix]
            for name in names:
                parts = name.split(".")
                if parts[0] == "yardcam" and len(parts) > 1 and parts[1]:
                    found.setdefault(parts[1], set()).add(path.relative_to(SRC))
    found.pop(package, None)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    imported = _yardcam_imports(package)
    forbidden = {name: files for name, files in imported.items() if name not in ALLOWED[package]}
    assert not forbidden, f"yardcam.{package} must not import {forbidden}"


def test_the_scan_sees_imports() -> None:
    # Guards the test itself: absolute, relative and ``from yardcam import x`` forms are all seen.
    assert {"camera", "motion", "web"} <= set(_yardcam_imports("dashboard"))
    assert "web" in _yardcam_imports("archive")  # ``from ..web import ...``
    assert "requests" in _yardcam_imports("camera")  # ``from yardcam import requests``
    assert "durable" in _yardcam_imports("outbox")  # a module, not a package
