"""The gallery's sessions live in the index, on both stacks: logout and a password change end a
session on every node sharing it, copied cookies included; expiry and the per-user cap."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import httpx

from archive.helpers import HTML, Node, in_gallery, login
from web.websupport import PASSWORD, form_token
from yardcam.archive import ArchiveSettings, create_user
from yardcam.archive.storage import open_frame_index
from yardcam.web import MAX_SESSIONS_PER_USER, LiveSession


@contextlib.contextmanager
def browser_at(node: Node, cookies: httpx.Cookies | None = None) -> Iterator[httpx.Client]:
    """A client of ``node`` (a browser whose load balancer picked it), with ``cookies``."""
    with httpx.Client(base_url=node.url) as client:
        if cookies is not None:
            client.cookies.update(cookies)
        yield client


def test_a_logout_on_one_node_ends_the_session_on_every_node(
    settings: ArchiveSettings, start_node: Callable[[ArchiveSettings], Node]
) -> None:
    create_user(settings, "owner", PASSWORD)
    a, b = start_node(settings), start_node(settings)  # one index, one session secret
    with browser_at(a) as owner_at_a:
        login(owner_at_a)
        with (
            browser_at(b, owner_at_a.cookies) as owner_at_b,
            browser_at(a, owner_at_a.cookies) as thief_at_a,
        ):
            assert in_gallery(owner_at_b) and in_gallery(thief_at_a)  # copied before logout
            token = form_token(owner_at_b.get("/gallery/", headers=HTML).text)
            logout = owner_at_b.post("/logout", data={"csrf_token": token})
            assert logout.status_code == 303 and logout.headers["location"] == "/login"
            assert not in_gallery(thief_at_a)  # node A knows at once: no cache to wait for
            assert not in_gallery(owner_at_a)
            with browser_at(b, owner_at_a.cookies) as thief_at_b:
                assert not in_gallery(thief_at_b)


def test_a_password_change_ends_the_other_sessions(
    settings: ArchiveSettings, start_node: Callable[[ArchiveSettings], Node]
) -> None:
    create_user(settings, "owner", PASSWORD)
    node = start_node(settings)
    with browser_at(node) as owner, browser_at(node) as elsewhere:
        login(owner)
        login(elsewhere)
        with browser_at(node, owner.cookies) as copied:
            page = owner.get("/account/password")
            assert page.status_code == 200  # just logged in: fresh
            new = "another long password"
            fields = {"current_password": PASSWORD, "new_password": new, "again": new}
            done = owner.post(
                "/account/password", data={**fields, "csrf_token": form_token(page.text)}
            )
            assert done.status_code == 200 and "Password changed" in done.text
            assert in_gallery(owner)  # this session goes on, under a new id
            assert not in_gallery(elsewhere) and not in_gallery(copied)
        login(elsewhere, new)
        assert in_gallery(elsewhere)


async def test_sessions_in_the_index_expire_and_keep_the_newest(
    settings: ArchiveSettings,
) -> None:
    index = await open_frame_index(settings.index)
    try:
        for i in range(MAX_SESSIONS_PER_USER + 1):
            live = LiveSession.begin("owner", remember=False, now=1000.0 + i, max_age=60)
            await index.add_session(f"k{i}", live, keep=MAX_SESSIONS_PER_USER)
        assert await index.get_session("k0") is None  # the oldest went past the cap
        kept = await index.get_session(f"k{MAX_SESSIONS_PER_USER}")
        assert kept == LiveSession("owner", False, 1064.0, 1064.0, 1124.0)
        other = LiveSession.begin("guest", remember=True, now=5000.0, max_age=60)
        await index.add_session("guest", other, keep=MAX_SESSIONS_PER_USER)
        assert await index.get_session("k1") is None  # expired ones go at the next login
        assert await index.delete_user_sessions("owner") == 0
        assert await index.get_session("guest") == other
        await index.delete_session("guest")
        assert await index.get_session("guest") is None
    finally:
        await index.close()
