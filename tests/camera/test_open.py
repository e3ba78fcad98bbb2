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


def test_scene_options_on_the_command_line() -> None:
    scene = open_source(
        "synthetic:people=far, gusts,night,switch=on,dusk=0,size=1080p,seed=3"
    ).scene
    assert (scene.people, scene.gusts, scene.night, scene.switch, scene.dusk) == (
        "far",
        True,
        True,
        True,
        False,
    )
    assert (scene.width, scene.height, scene.seed) == (1920, 1080, 3)
    scene = open_source("synthetic:size=320x180,requality,quality=60").scene
    assert (scene.width, scene.height, scene.requality, scene.quality) == (320, 180, True, 60)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("synthetic:seed=x", "bad synthetic option 'seed=x'"),
        (
            "synthetic:colour=red",
            "flags noise, drift, bush, objects, gusts, dusk, night, switch, requality",
        ),
        ("synthetic:seed", "bad synthetic option"),
        ("synthetic:people=tall", "people=near|far|both"),
        ("synthetic:size=big", r"size=WxH or 360p\|480p\|720p\|1080p"),
        ("synthetic:size=10x10", "bad synthetic scene .* outside 64..8192"),
        ("synthetic:quality=0", "quality must be within 1..100"),
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
