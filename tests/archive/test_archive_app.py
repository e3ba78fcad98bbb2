"""create_app wiring: the gallery is mounted behind its login; the public API surface is pinned."""

from __future__ import annotations

import asyncio

import pytest

import yardcam.archive
from archive.helpers import Node
from yardcam import requests
from yardcam.archive import ArchiveSettings, create_user


def test_public_names_are_pinned() -> None:
    assert set(yardcam.archive.__all__) == {
        "SCOPES",
        "Archive",
        "ArchiveSettings",
        "PurgeResult",
        "Retention",
        "create_app",
        "create_token",
        "create_user",
        "export_zip",
        "issue_token",
        "purge",
    }


@pytest.mark.parametrize("stack", ["file+sqlite"], indirect=True)
def test_gallery_is_mounted_behind_a_login(node: Node) -> None:
    r = requests.get(f"{node.url}/gallery/", headers={"Accept": "text/html"}, allow_redirects=False)
    assert r.status_code in (302, 303, 307)
    assert "/login" in r.headers["Location"]
    login = requests.get(f"{node.url}/login")
    assert login.status_code == 200
    assert "text/html" in login.headers["Content-Type"]
    # The gallery's security headers wrap the API too; bearer requests skip CSRF.
    api = requests.get(f"{node.url}/cams", auth=requests.BearerAuth(node.read))
    assert api.status_code == 200
    assert api.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("stack", ["file+sqlite"], indirect=True)
def test_create_user_allows_gallery_login(settings: ArchiveSettings, start_node) -> None:
    create_user(settings, "owner", "a long enough password")
    node = start_node(settings)
    with requests.Session() as session:
        page = session.get(f"{node.url}/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = session.post(
            f"{node.url}/login",
            data={"username": "owner", "password": "a long enough password", "csrf_token": token},
            allow_redirects=False,
        )
        assert r.status_code in (302, 303)
        assert session.get(f"{node.url}/gallery/").status_code == 200


def test_archive_requires_open(settings: ArchiveSettings) -> None:
    archive = yardcam.archive.Archive(settings)
    with pytest.raises(RuntimeError, match="not open"):
        _ = archive.index
    asyncio.run(archive.close())  # closing an unopened archive is harmless
