"""Motion events in the archive on both stacks: ``GET /events`` and ``GET /events/{id}``."""

from __future__ import annotations

import pytest

from archive.helpers import Node, make_jpeg
from yardcam import requests

# The cam's event ids (``<start ms>-<first seq>``); porch reuses yard's first id on purpose:
# event ids are unique per cam only.
FIRST, SECOND, THIRD = "1000000-1", "1010000-7", "1020000-9"


def put(node: Node, cam: str, ts: float, change: float | None, event: str | None) -> dict:
    data = {"cam": cam, "ts": str(ts)}
    if change is not None:
        data["change"] = str(change)
    if event is not None:
        data["event"] = event
    r = requests.post(
        f"{node.url}/frames",
        data=data,
        files={"image": ("f.jpg", make_jpeg(seed=int(ts)))},
        auth=requests.BearerAuth(node.admin),
    )
    assert r.status_code == 201, r.text
    return r.json()


def get(node: Node, path: str, token: str | None = None) -> requests.Response:
    return requests.get(f"{node.url}{path}", auth=requests.BearerAuth(token or node.read))


@pytest.fixture
def events(node: Node) -> Node:
    put(node, "yard", 1000.0, 5.0, FIRST)
    put(node, "yard", 1000.5, 20.0, FIRST)
    put(node, "yard", 1001.0, 8.0, FIRST)
    put(node, "yard", 1005.0, 30.0, None)  # archived before events existed: in no event
    put(node, "yard", 1010.0, None, SECOND)
    put(node, "yard", 1011.5, 3.0, SECOND)
    put(node, "yard", 1020.0, 12.0, THIRD)
    put(node, "porch", 1000.2, 9.0, FIRST)
    return node


def test_events_are_summaries_newest_first(events: Node) -> None:
    body = get(events, "/events?cam=yard").json()
    assert [e["id"] for e in body["events"]] == [f"yard-{THIRD}", f"yard-{SECOND}", f"yard-{FIRST}"]
    assert body["next_cursor"] is None and body["next"] is None
    first = body["events"][2]
    assert first["cam"] == "yard" and first["event"] == FIRST
    assert (first["start"], first["end"], first["duration"]) == (1000.0, 1001.0, 1.0)
    assert (first["frames"], first["peak_change"]) == (3, 20.0)
    best = first["best"]
    assert (best["ts"], best["change"], best["event"]) == (1000.5, 20.0, FIRST)
    assert best["url"] == f"{events.url}/frames/{best['id']}"
    assert get(events, best["thumb_url"].removeprefix(events.url)).status_code == 200
    assert first["url"] == f"{events.url}/events/yard-{FIRST}"
    second = body["events"][1]
    assert (second["frames"], second["peak_change"], second["best"]["ts"]) == (2, 3.0, 1011.5)
    # The frame without an event is in none, and counted by none.
    assert sum(e["frames"] for e in body["events"]) == 6


def test_event_pages_walk_every_event_once_and_filter_by_start(events: Node) -> None:
    seen, url = [], "/events?cam=yard&limit=1"
    while url:
        body = get(events, url).json()
        assert len(body["events"]) <= 1
        seen += [e["event"] for e in body["events"]]
        url = body["next"] and body["next"].removeprefix(events.url)
    assert seen == [THIRD, SECOND, FIRST]
    since = get(events, "/events?cam=yard&since=1010").json()["events"]
    assert [e["event"] for e in since] == [THIRD, SECOND]
    until = get(events, "/events?cam=yard&until=1970-01-01T00:16:50").json()["events"]  # 1010 s
    assert [e["event"] for e in until] == [FIRST]
    porch = get(events, "/events?cam=porch").json()["events"]
    assert [(e["id"], e["frames"]) for e in porch] == [(f"porch-{FIRST}", 1)]


def test_event_lists_its_frames_oldest_first(events: Node) -> None:
    r = get(events, f"/events/yard-{FIRST}")
    assert r.status_code == 200
    body = r.json()
    assert [f["ts"] for f in body["frames"]] == [1000.0, 1000.5, 1001.0]
    assert {f["event"] for f in body["frames"]} == {FIRST}
    assert body["event"]["frames"] == 3 and body["event"]["best"]["ts"] == 1000.5
    porch = get(events, f"/events/porch-{FIRST}").json()
    assert [f["ts"] for f in porch["frames"]] == [1000.2]


@pytest.mark.parametrize("event_id", ["yard-999-1", "nobody-1000000-1", "yard", "x-1-y", "%00"])
def test_unknown_event_is_404_with_a_reason(events: Node, event_id: str) -> None:
    r = get(events, f"/events/{event_id}")
    assert r.status_code == 404
    assert "no such event" in r.json()["error"]


@pytest.mark.parametrize("query", ["", "cam=../x", "cam=yard&limit=0", "cam=yard&cursor=%%%"])
def test_bad_event_listing_is_400(events: Node, query: str) -> None:
    r = get(events, f"/events?{query}")
    assert r.status_code == 400
    assert r.json()["error"]


def test_events_need_a_read_token_for_their_cam(events: Node) -> None:
    assert requests.get(f"{events.url}/events?cam=yard").status_code == 401
    assert get(events, "/events?cam=yard", events.upload).status_code == 403
    assert get(events, f"/events/yard-{FIRST}", events.upload).status_code == 403
    porch = events.token("porch", "read")
    mine = get(events, "/events", porch).json()["events"]  # the token's cam is the default
    assert [e["cam"] for e in mine] == ["porch"]
    assert get(events, "/events?cam=yard", porch).status_code == 403
    assert get(events, f"/events/yard-{FIRST}", porch).status_code == 403
    assert get(events, f"/events/porch-{FIRST}", porch).status_code == 200
