import asyncio
import itertools
from pathlib import Path

import pytest
from camera_helpers import collect, stop

from yardcam.camera import FolderSource, FrameHub, SourceError, SyntheticScene, open_source
from yardcam.requests import Backoff


async def test_plays_jpegs_in_name_order_then_ends(
    jpeg_folder: Path, small_scene: SyntheticScene
) -> None:
    frames = await collect(open_source(f"dir:{jpeg_folder}", fps=None), 100)
    assert [f.jpeg for f in frames] == [small_scene.jpeg(i) for i in range(2, 7)]
    assert [f.seq for f in frames] == [0, 1, 2, 3, 4]
    assert {(f.width, f.height) for f in frames} == {(320, 180)}
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(frames))


async def test_loops_when_asked(jpeg_folder: Path) -> None:
    frames = await collect(FolderSource(jpeg_folder, fps=None, loop=True), 12)
    assert [f.seq for f in frames] == list(range(12))
    assert frames[0].jpeg == frames[5].jpeg == frames[10].jpeg


async def test_paced_playback_yields_at_the_target_rate(jpeg_folder: Path) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    frames = await collect(FolderSource(jpeg_folder, fps=200.0), 5)
    # Loose lower bound only: 5 frames at 200 fps span at least 4 periods.
    assert loop.time() - start >= 4 / 200
    assert len(frames) == 5


async def test_empty_or_missing_folder_fails_as_a_source(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no JPEG files"):
        await collect(FolderSource(tmp_path), 1)
    with pytest.raises(SourceError, match="cannot list"):
        await collect(FolderSource(tmp_path / "gone"), 1)


async def test_corrupt_file_is_reported_and_retried_by_the_hub(jpeg_folder: Path) -> None:
    (jpeg_folder / "0003.jpg").write_bytes(b"GIF89a not a jpeg")
    hub = FrameHub(backoff=Backoff(base=0.001, cap=0.001))
    task = asyncio.create_task(hub.run(FolderSource(jpeg_folder, fps=None)))
    while hub.failures < 2:
        await hub.next_frame()
        await asyncio.sleep(0)
    assert hub.state.startswith("retrying: ") and "0003.jpg is not a JPEG" in hub.state
    await stop(task)
