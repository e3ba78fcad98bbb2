from pathlib import Path

import pytest

from yardcam.camera import SyntheticScene


@pytest.fixture(scope="session")
def small_scene() -> SyntheticScene:
    return SyntheticScene(seed=1, width=320, height=180)


@pytest.fixture
def jpeg_folder(tmp_path: Path, small_scene: SyntheticScene) -> Path:
    """Five scene frames as 0002.jpg..0006.jpg, written out of order, plus files to ignore."""
    for i in (4, 2, 6, 3, 5):
        (tmp_path / f"{i:04d}.jpg").write_bytes(small_scene.jpeg(i))
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / "sub.jpg").mkdir()
    return tmp_path
