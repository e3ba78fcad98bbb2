"""Tokens with an expiry, on both stacks: refused with 401 and a reason once past it, whatever
the verifier's cache holds; ``token create --expires`` and ``token list`` show it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.helpers import Node, make_jpeg, storage_args
from yardcam import requests
from yardcam.archive import ArchiveSettings, issue_token
from yardcam.archive._errors import ApiError
from yardcam.archive._tokens import TokenVerifier, parse_expiry
from yardcam.archive.storage import open_frame_index
from yardcam.cli import main


def issue(settings: ArchiveSettings, cam: str | None, scope: str, expires: float) -> str:
    async def work() -> str:
        index = await open_frame_index(settings.index)
        try:
            return (await issue_token(index, cam, scope, expires=expires))[0]
        finally:
            await index.close()

    return asyncio.run(work())


def upload(node: Node, token: str) -> requests.Response:
    return requests.post(
        f"{node.url}/frames", files={"image": make_jpeg()}, auth=requests.BearerAuth(token)
    )


def test_lifetimes_and_instants() -> None:
    now = 1_700_000_000.0
    assert parse_expiry("30d", now=now) == now + 30 * 86_400
    assert parse_expiry("90m", now=now) == now + 5400
    assert parse_expiry("1.5h", now=now) == now + 5400
    assert parse_expiry("2w", now=now) == now + 14 * 86_400
    new_year = datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert parse_expiry("2027-01-01T00:00:00+00:00", now=now) == new_year
    assert parse_expiry("2027-01-01T00:00:00", now=now) == new_year  # naive means UTC
    assert parse_expiry(str(now + 60), now=now) == now + 60
    for bad in ("-1d", "soon", "30 days", "nan", "3y"):
        with pytest.raises(ValueError, match=r"a lifetime .* or an instant"):
            parse_expiry(bad, now=now)
    with pytest.raises(ValueError, match="not in the future"):
        parse_expiry("1000", now=now)


def test_an_expired_token_is_401_with_the_reason(node: Node) -> None:
    valid = issue(node.settings, "yard", "upload", time.time() + 3600)
    expired = issue(node.settings, "yard", "upload", time.time() - 1)
    expired_reader = issue(node.settings, None, "read", time.time() - 1)
    assert upload(node, valid).status_code == 201
    r = upload(node, expired)
    assert r.status_code == 401
    assert "expired at" in r.json()["error"] and "token create" in r.json()["error"]
    r = requests.get(f"{node.url}/frames", auth=requests.BearerAuth(expired_reader))
    assert r.status_code == 401 and "expired" in r.json()["error"]


async def test_the_cache_never_extends_a_token(tmp_path: Path) -> None:
    index = await open_frame_index(f"sqlite:///{tmp_path / 'index.db'}")
    try:
        expires = time.time() + 0.3
        secret, _ = await issue_token(index, "yard", "upload", expires=expires)
        verifier = TokenVerifier(ttl=3600)  # trusts what it checked for an hour ...
        await verifier.authenticate(index, f"Bearer {secret}", "upload")
        await asyncio.sleep(max(expires - time.time(), 0) + 0.05)
        with pytest.raises(ApiError, match="expired") as refused:  # ... but not past expiry
            await verifier.authenticate(index, f"Bearer {secret}", "upload")
        assert refused.value.status == 401
    finally:
        await index.close()


def test_cli_creates_and_lists_an_expiring_token(
    settings: ArchiveSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["token", "create", "--cam", "yard", "--expires", "30d", *storage_args(settings)]
    assert main(["archive", *args]) == 0
    secret, err = capsys.readouterr()
    assert "expires 20" in err
    assert main(["archive", "token", "list", *storage_args(settings)]) == 0
    out = capsys.readouterr().out
    token_id = secret.strip().split("_")[1]
    assert "active until 20" in next(line for line in out.splitlines() if token_id in line)
    with pytest.raises(SystemExit):
        main(["archive", "token", "create", "--cam", "yard", "--expires", "someday"])
