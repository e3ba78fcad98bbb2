"""Archive fixtures: both storage stacks (file+SQLite, SeaweedFS+PostgreSQL), nodes, tokens.

The PostgreSQL and SeaweedFS servers themselves are session fixtures in ``tests/conftest.py``
(the outbox's crash test runs against both stacks too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archive.helpers import STACKS, Node, make_jpeg, make_settings, new_tokens
from serving import serve
from yardcam.archive import ArchiveSettings, create_app


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(stack: str, tmp_path: Path, request: pytest.FixtureRequest) -> ArchiveSettings:
    return make_settings(stack, tmp_path / "archive", request, max_frame_bytes=512 * 1024)


@pytest.fixture
def start_node() -> Iterator[Callable[[ArchiveSettings], Node]]:
    """``start_node(settings)`` -> a real uvicorn node; several may share one storage stack."""
    with contextlib.ExitStack() as servers:

        def start(settings: ArchiveSettings) -> Node:
            upload, read, admin = new_tokens(
                settings, ("yard", "upload"), (None, "read"), (None, "admin")
            )
            running = servers.enter_context(serve(create_app(settings)))
            return Node(running, settings, upload, read, admin)

        yield start


@pytest.fixture
def node(settings: ArchiveSettings, start_node: Callable[[ArchiveSettings], Node]) -> Node:
    return start_node(settings)


@pytest.fixture
def jpeg() -> bytes:
    return make_jpeg(320, 240, noise=True)
