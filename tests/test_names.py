"""yardcam.names: the cam names both the cam side and the archive accept."""

from __future__ import annotations

import pytest

from yardcam.names import (
    cam_of_frame_key,
    check_cam_name,
    event_key,
    is_event_id,
    is_valid_cam,
    split_event_key,
)


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


@pytest.mark.parametrize(
    ("key", "cam"),
    [("yard-1796502901301-5602", "yard"), ("front-door-1-0", "front-door"), ("01a2b3", None)],
)
def test_the_cam_of_a_frame_key(key: str, cam: str | None) -> None:
    assert cam_of_frame_key(key) == cam


def test_a_frame_key_is_what_the_outbox_makes() -> None:
    from yardcam.outbox._entry import frame_id

    assert cam_of_frame_key(frame_id("front-door", 1796502901.301, 5602)) == "front-door"


@pytest.mark.parametrize(
    ("text", "valid"),
    [("1796502901301-5602", True), ("0-0", True), ("1796502901301", False), ("a-1", False)],
)
def test_event_ids_are_start_ms_and_first_seq(text: str, valid: bool) -> None:
    assert is_event_id(text) is valid


@pytest.mark.parametrize("cam", ["yard", "front-door", "1-2"])
def test_an_event_key_splits_back_into_cam_and_event(cam: str) -> None:
    assert split_event_key(event_key(cam, "1796502901301-5602")) == (cam, "1796502901301-5602")


@pytest.mark.parametrize("key", ["yard", "yard-1", "-1-2", "yard-1-x", "a/b-1-2"])
def test_other_strings_are_not_event_keys(key: str) -> None:
    assert split_event_key(key) is None
