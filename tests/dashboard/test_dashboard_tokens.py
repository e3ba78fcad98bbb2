"""API tokens: created, listed and revoked by the functions the CLI calls, stored hashed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from yardcam.cli import main
from yardcam.dashboard import create_api_token, list_api_tokens, revoke_api_token


def test_tokens_are_stored_hashed_and_private(tmp_path: Path) -> None:
    token = create_api_token(tmp_path, "ha", "read")
    stored = tmp_path / "cam" / "api-tokens.json"
    assert token.startswith("ycam_") and token not in stored.read_text()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert [(t.name, t.scope) for t in list_api_tokens(tmp_path)] == [("ha", "read")]
    with pytest.raises(ValueError, match="exists"):
        create_api_token(tmp_path, "ha", "control")
    with pytest.raises(ValueError, match="scope"):
        create_api_token(tmp_path, "x", "admin")
    with pytest.raises(ValueError, match="name"):
        create_api_token(tmp_path, "no spaces", "read")
    revoke_api_token(tmp_path, "ha")
    assert list_api_tokens(tmp_path) == []
    with pytest.raises(KeyError):
        revoke_api_token(tmp_path, "ha")


def test_the_cli_wiring(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["token", "create", "panel", "--scope", "control", *data]) == 0
    assert capsys.readouterr().out.startswith("ycam_")
    assert main(["token", "list", *data]) == 0
    assert capsys.readouterr().out.startswith("panel\tcontrol\tcreated ")
    assert main(["token", "revoke", "panel", *data]) == 0
    assert main(["token", "revoke", "panel", *data]) == 2
    assert "no token named 'panel'" in capsys.readouterr().err
