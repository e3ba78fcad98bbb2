"""TokenSource: file or environment, re-read on every call so rotation needs no restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from yardcam.outbox import TokenSource, TokenUnavailable


def test_file_token_is_reread_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    source = TokenSource(path)
    assert source.read() == "first"
    path.write_text("second")
    assert source.read() == "second"
    assert "second" not in repr(source)


def test_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YARDCAM_TEST_TOKEN", "abc")
    source = TokenSource(env="YARDCAM_TEST_TOKEN")
    assert source.read() == "abc"
    monkeypatch.setenv("YARDCAM_TEST_TOKEN", "def")
    assert source.read() == "def"
    monkeypatch.delenv("YARDCAM_TEST_TOKEN")
    with pytest.raises(TokenUnavailable, match="YARDCAM_TEST_TOKEN"):
        source.read()


@pytest.mark.parametrize("content", ["", "  \n", "two\nlines"])
def test_unusable_token_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(TokenUnavailable):
        TokenSource(path).read()


def test_missing_file_and_misuse(tmp_path: Path) -> None:
    with pytest.raises(TokenUnavailable, match="cannot read"):
        TokenSource(tmp_path / "nope").read()
    with pytest.raises(ValueError):
        TokenSource()
    with pytest.raises(ValueError):
        TokenSource(tmp_path / "t", env="X")
