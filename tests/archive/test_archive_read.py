"""Reading routes on both stacks: listing, frames, thumbnails, cams, delete, probes."""

from __future__ import annotations

import hashlib

import pytest
import simplejpeg

from archive.helpers import Node, make_jpeg
from yardcam import requests


def put(node: Node, cam: str, ts: float, seed: int = 0) -> dict:
    r = requests.post(
        f"{node.url}/frames",
        data={"cam": cam, "ts": str(ts)},
        files={"image": ("f.jpg", make_jpeg(seed=seed))},
        auth=requests.BearerAuth(node.admin),
    )
    assert r.status_code == 201, r.text
    return r.json()


def get(node: Node, path: str, token: str | None = None, **kwargs) -> requests.Response:
    auth = requests.BearerAuth(token or node.read)
    return requests.get(f"{node.url}{path}", auth=auth, **kwargs)


@pytest.fixture
def filled(node: Node) -> Node:
    for i in range(7):
        put(node, "yard", 1000.0 + i, seed=i)
    for i in range(3):
        put(node, "porch", 5000.0 + i, seed=10 + i)
    return node


def test_keyset_pagination_walks_every_frame_once(filled: Node) -> None:
    seen, url = [], "/frames?cam=yard&limit=3"
    while url:
        page = get(filled, url)
        assert page.status_code == 200
        body = page.json()
        seen += [f["ts"] for f in body["frames"]]
        url = body["next"] and body["next"].removeprefix(filled.url)
    assert seen == [1006.0, 1005.0, 1004.0, 1003.0, 1002.0, 1001.0, 1000.0]


def test_listing_filters_by_time_and_order(filled: Node) -> None:
    body = get(filled, "/frames?since=1002&until=1005&order=asc").json()
    assert [f["ts"] for f in body["frames"]] == [1002.0, 1003.0, 1004.0]
    assert body["next_cursor"] is None
    iso = get(filled, "/frames?since=1970-01-01T01:23:20&cam=porch").json()  # 5000 s
    assert [f["ts"] for f in iso["frames"]] == [5002.0, 5001.0, 5000.0]
    everything = get(filled, "/frames?limit=1000").json()["frames"]
    assert len(everything) == 10


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=1001", "limit=ten", "cursor=%%%", "cursor=bm9wZQ", "since=soon", "cam=../x"],
)
def test_bad_listing_parameters_are_400(filled: Node, query: str) -> None:
    r = get(filled, f"/frames?{query}")
    assert r.status_code == 400
    assert r.json()["error"]


def test_dashboard_bound_read_token_sees_only_its_cam(filled: Node) -> None:
    token = filled.token("porch", "read")
    frames = get(filled, "/frames", token).json()["frames"]
    assert {f["cam"] for f in frames} == {"porch"}
    assert get(filled, "/frames?cam=yard", token).status_code == 403
    cams = get(filled, "/cams", token).json()["cams"]
    assert [c["cam"] for c in cams] == ["porch"]
    yard_id = get(filled, "/frames?cam=yard").json()["frames"][0]["id"]
    assert get(filled, f"/frames/{yard_id}", token).status_code == 403


def test_reading_needs_a_read_scope(filled: Node) -> None:
    assert get(filled, "/frames", filled.upload).status_code == 403
    assert requests.get(f"{filled.url}/frames").status_code == 401
    assert requests.get(f"{filled.url}/cams").status_code == 401


def test_frame_has_etag_and_immutable_caching(node: Node) -> None:
    jpeg = make_jpeg(seed=3)
    frame = requests.post(
        f"{node.url}/frames",
        files={"image": jpeg},
        auth=requests.BearerAuth(node.upload),
    ).json()
    r = get(node, f"/frames/{frame['id']}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.content == jpeg
    assert r.headers["ETag"] == f'"{hashlib.sha256(jpeg).hexdigest()}"'
    assert "immutable" in r.headers["Cache-Control"]
    again = get(node, f"/frames/{frame['id']}", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    other = get(node, f"/frames/{frame['id']}", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200


def test_unknown_frame_is_404(node: Node) -> None:
    assert get(node, "/frames/0123456789abcdef").status_code == 404
    assert get(node, "/frames/0123456789abcdef/thumb").status_code == 404


def test_thumbnail_is_a_smaller_jpeg_and_cached(node: Node) -> None:
    big = make_jpeg(1280, 960, noise=False)
    frame = requests.post(
        f"{node.url}/frames", files={"image": big}, auth=requests.BearerAuth(node.upload)
    ).json()
    r = get(node, f"/frames/{frame['id']}/thumb")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/jpeg"
    height, width, _, _ = simplejpeg.decode_jpeg_header(r.content)
    assert node.settings.thumb_size <= height < 960
    assert width * 3 == height * 4
    assert get(node, f"/frames/{frame['id']}/thumb").content == r.content
    etag = r.headers["ETag"]
    assert (
        get(node, f"/frames/{frame['id']}/thumb", headers={"If-None-Match": etag}).status_code
        == 304
    )


def test_cams_lists_counts_and_last_ts(filled: Node) -> None:
    cams = {c["cam"]: c for c in get(filled, "/cams").json()["cams"]}
    assert set(cams) == {"yard", "porch"}
    assert cams["yard"]["count"] == 7
    assert cams["yard"]["last_ts"] == 1006.0
    assert cams["porch"]["first_ts"] == 5000.0
    assert cams["porch"]["bytes"] > 0


def test_delete_is_admin_only_and_removes_row_and_blob(filled: Node) -> None:
    frame = get(filled, "/frames?cam=yard&limit=1").json()["frames"][0]
    url = f"{filled.url}/frames/{frame['id']}"
    assert requests.delete(url, auth=requests.BearerAuth(filled.read)).status_code == 403
    assert requests.delete(url).status_code == 401
    r = requests.delete(url, auth=requests.BearerAuth(filled.admin))
    assert r.status_code == 204
    assert get(filled, f"/frames/{frame['id']}").status_code == 404
    assert requests.delete(url, auth=requests.BearerAuth(filled.admin)).status_code == 404
    ids = [f["id"] for f in get(filled, "/frames?limit=1000").json()["frames"]]
    assert frame["id"] not in ids and len(ids) == 9


def test_probes(node: Node) -> None:
    assert requests.get(f"{node.url}/healthz").json() == {"status": "ok"}
    ready = requests.get(f"{node.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_metrics_need_a_read_token_for_every_cam(node: Node) -> None:
    assert requests.get(f"{node.url}/metrics").status_code == 401
    for cam_bound in (node.upload, node.token("yard", "read")):
        refused = requests.get(f"{node.url}/metrics", auth=requests.BearerAuth(cam_bound))
        assert refused.status_code == 403, refused.text
    admin = requests.get(f"{node.url}/metrics", auth=requests.BearerAuth(node.admin))
    assert admin.status_code == 200 and "yardcam_frames_ingested_total" in admin.text


def test_metrics_count_ingest_and_rejections(node: Node) -> None:
    requests.post(
        f"{node.url}/frames", files={"image": make_jpeg()}, auth=requests.BearerAuth(node.upload)
    )
    requests.post(
        f"{node.url}/frames", files={"image": b"nope"}, auth=requests.BearerAuth(node.upload)
    )
    requests.post(f"{node.url}/frames", files={"image": make_jpeg()})
    text = requests.get(f"{node.url}/metrics", auth=requests.BearerAuth(node.read)).text
    assert "yardcam_frames_ingested_total 1" in text
    assert 'yardcam_ingest_rejections_total{reason="415"} 1' in text
    assert 'yardcam_ingest_rejections_total{reason="401"} 1' in text
    assert 'yardcam_ingest_seconds_bucket{le="+Inf"} 1' in text
    assert "yardcam_ingested_bytes_total" in text


def test_openapi_document_covers_every_route(node: Node) -> None:
    doc = requests.get(f"{node.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/frames",
        "/frames/{frame_id}",
        "/frames/{frame_id}/thumb",
        "/events",
        "/events/{event_id}",
        "/cams",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    }
    try:
        from openapi_spec_validator import validate
    except ImportError:
        pytest.fail("openapi-spec-validator is needed to check the document")
    validate(doc)
