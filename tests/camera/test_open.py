import pytest

from yardcam.camera import (
    FolderSource,
    InvalidSource,
    MjpegSource,
    OpenCVSource,
    SyntheticSource,
    open_source,
)


def test_specs_pick_sources(tmp_path) -> None:
    synthetic = open_source("synthetic:seed=4,width=320,height=180,bush=off", fps=None)
    assert isinstance(synthetic, SyntheticSource)
    scene = synthetic.scene
    assert (scene.seed, scene.width, scene.height, scene.bush, scene.noise) == (
        4,
        320,
        180,
        False,
        True,
    )
    assert synthetic.fps is None
    assert isinstance(open_source(), SyntheticSource)
    folder = open_source(f"dir:{tmp_path}", fps=5, loop=True)
    assert isinstance(folder, FolderSource) and folder.loop and folder.fps == 5
    assert isinstance(open_source("https://cam.example/stream", verify=False), MjpegSource)
    assert isinstance(open_source("device:0"), OpenCVSource)
    assert isinstance(open_source("rtsp://cam.example/live"), OpenCVSource)
    assert isinstance(open_source("clip.mp4"), OpenCVSource)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("synthetic:seed=x", "bad synthetic option"),
        ("synthetic:colour=red", "bad synthetic option"),
        ("synthetic:seed", "bad synthetic option"),
        ("dir:", "needs a path"),
        ("device:front", "needs a number"),
        ("ftp://cam", "unknown frame source"),
    ],
)
def test_bad_specs_say_why(spec: str, message: str) -> None:
    with pytest.raises(InvalidSource, match=message):
        open_source(spec)


def test_missing_opencv_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "cv2", None)  # as if the extra were absent
    with pytest.raises(InvalidSource, match=r"pip install 'yardcam\[opencv\]'"):
        open_source("device:0")
