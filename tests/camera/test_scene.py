import numpy as np
import pytest
import simplejpeg
from camera_helpers import collect

from yardcam.camera import SyntheticScene, open_source


def test_same_seed_same_bytes_other_seed_other_scene() -> None:
    a = SyntheticScene(seed=5, width=320, height=180)
    b = SyntheticScene(seed=5, width=320, height=180)
    assert [a.jpeg(i) for i in (0, 1, 77)] == [b.jpeg(i) for i in (77, 1, 0)][::-1]
    assert SyntheticScene(seed=6, width=320, height=180).jpeg(0) != a.jpeg(0)


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (333, 211)])
def test_any_resolution_is_a_jpeg_of_that_size(width: int, height: int) -> None:
    jpeg = SyntheticScene(width=width, height=height).jpeg(3)
    assert simplejpeg.decode_jpeg_header(jpeg)[:2] == (height, width)


def test_ground_truth_matches_what_is_drawn() -> None:
    scene = SyntheticScene(seed=2, width=320, height=180, noise=False, drift=False, bush=False)
    empty = scene.render(0)
    crossings = scene.crossings(2000)
    assert len(crossings) >= 5
    motion, unscored = scene.ground_truth(2000)
    assert not (motion & unscored).any()
    for c in crossings[:3]:
        assert c.enters < c.inside < c.leaves <= c.exits
        assert motion[c.inside : c.leaves].all()
        assert not motion[c.enters : c.inside].any()
        assert np.array_equal(scene.render(c.enters - 1), empty)  # nothing before it enters
        assert not np.array_equal(scene.render(c.enters), empty)  # drawn from its first frame
        assert np.array_equal(scene.render(c.exits), empty)  # and gone after


def test_nuisances_switch_off_independently() -> None:
    still = SyntheticScene(
        width=320, height=180, noise=False, drift=False, bush=False, objects=False
    )
    assert np.array_equal(still.render(1), still.render(500))
    assert still.crossings(10_000) == []
    for nuisance in ("noise", "drift", "bush"):
        scene = SyntheticScene(
            width=320,
            height=180,
            objects=False,
            **{n: n == nuisance for n in ("noise", "drift", "bush")},
        )
        assert not np.array_equal(scene.render(1), scene.render(40)), nuisance


def test_bad_size_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        SyntheticScene(width=10, height=10)


async def test_synthetic_source_serves_the_scene_by_frame_index() -> None:
    source = open_source("synthetic:seed=9,width=160,height=90", fps=None)
    frames = await collect(source, 4)
    scene = SyntheticScene(seed=9, width=160, height=90)
    assert [f.jpeg for f in frames] == [scene.jpeg(i) for i in range(4)]
    assert [(f.seq, f.width, f.height) for f in frames] == [(i, 160, 90) for i in range(4)]
    paced = await collect(open_source("synthetic:width=160,height=90", fps=500.0), 3)
    assert [f.seq for f in paced] == [0, 1, 2]
