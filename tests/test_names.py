"""yardcam.names: the cam names both the cam side and the archive accept."""

from __future__ import annotations

import pytest

from yardcam.names import check_cam_name, is_valid_cam


@pytest.mark.parametrize("name", ["yard", "Front_Door-2", "a", "x" * 64])
def test_safe_names_are_accepted(name: str) -> None:
    assert is_valid_cam(name)
    assert check_cam_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "x" * 65, "../etc", "a/b", "a.b", "two words", "caf\u00e9", "yard\n"]
)
def test_names_that_could_escape_a_path_or_url_are_refused(name: str) -> None:
    assert not is_valid_cam(name)
    with pytest.raises(ValueError, match="1-64 letters, digits"):
        check_cam_name(name)
