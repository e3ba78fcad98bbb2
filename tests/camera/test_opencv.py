from pathlib import Path

import cv2
import numpy as np
import pytest
from camera_helpers import collect

from yardcam.camera import FrameHub, OpenCVSource, SourceError, SyntheticScene, open_source


@pytest.fixture
def video(tmp_path: Path, small_scene: SyntheticScene) -> Path:
    path = tmp_path / "yard.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 180))
    for i in range(8):
        writer.write(np.ascontiguousarray(small_scene.render(i)[..., ::-1]))  # OpenCV wants BGR
    writer.release()
    return path


async def test_video_file_frames_are_jpegs_and_the_file_ends(video: Path) -> None:
    frames = await collect(open_source(f"file:{video}", fps=None), 100)
    assert [f.seq for f in frames] == list(range(8))
    assert {(f.width, f.height) for f in frames} == {(320, 180)}
    assert all(f.jpeg.startswith(b"\xff\xd8") for f in frames)
    hub = FrameHub()
    await hub.run(open_source(str(video), fps=None))  # a finite file ends the pump
    assert hub.state == "ended"


async def test_a_camera_that_cannot_open_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open"):
        await collect(OpenCVSource(str(tmp_path / "missing.avi")), 1)
