"""The one time parser: the API's since/until and the CLI's export --since/--until."""

from __future__ import annotations

import argparse

import pytest

from yardcam.archive._timestamps import parse_timestamp
from yardcam.cli._archive import register


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", 1700000000.0),
        ("1700000000.25", 1700000000.25),
        ("0", 0.0),
        ("2023-11-14T22:13:20", 1700000000.0),  # naive means UTC
        ("2023-11-14T22:13:20Z", 1700000000.0),
        ("2023-11-14T23:13:20+01:00", 1700000000.0),
        ("2023-11-14", 1699920000.0),
    ],
)
def test_epoch_seconds_and_iso_8601(text: str, expected: float) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "inf", "nan", "-inf", "2023-13-01", "1e999"])
def test_anything_else_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="epoch seconds or ISO 8601"):
        parse_timestamp(text)


def test_the_cli_reads_times_with_it(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="yardcam")
    register(parser.add_subparsers())
    export = ["archive", "export", "--cam", "yard", "out.zip"]
    args = parser.parse_args([*export, "--since", "2023-11-14T22:13:20", "--until", "1700000001"])
    assert (args.since, args.until) == (1700000000.0, 1700000001.0)
    with pytest.raises(SystemExit):
        parser.parse_args([*export, "--since", "inf"])
    assert "epoch seconds or ISO 8601" in capsys.readouterr().err
