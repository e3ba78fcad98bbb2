"""Server-side sessions: logout and password change kill copied cookies; remember me; fresh
login before a password change; the Origin / Sec-Fetch-Site half of CSRF; JWT and Basic parsing.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest

from serving import Running
from web.websupport import PASSWORD, build_app, form_token
from yardcam.web import Accounts, JwtSigner, SessionRegistry, parse_basic

Serve = Callable[..., Running]


def login(client: httpx.Client, *, remember: bool = False) -> httpx.Response:
    token = form_token(client.get("/login").text)
    data = {"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "/"}
    if remember:
        data["remember"] = "on"
    return client.post("/login", data=data)


def test_logout_kills_a_copied_cookie(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client, httpx.Client(base_url=server.url) as thief:
        login(client)
        thief.cookies.update(client.cookies)
        assert thief.get("/").text == "hello alice"
        token = form_token(client.get("/token").text)
        assert client.post("/logout", data={"csrf_token": token}).status_code == 303
        assert thief.get("/").status_code == 401


def test_remember_me_sets_a_30_day_cookie(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        cookie = login(client, remember=True).headers["set-cookie"].lower()
        assert "max-age=2592000" in cookie
        assert client.get("/").text == "hello alice"


def test_password_change_needs_a_fresh_login_and_ends_other_sessions(
    serve_app: Serve, accounts: Accounts
) -> None:
    clock = [time.time()]
    registry = SessionRegistry(clock=lambda: clock[0])
    server = serve_app(build_app(accounts, secure=False, registry=registry))
    with httpx.Client(base_url=server.url) as client, httpx.Client(base_url=server.url) as other:
        login(client)
        login(other)
        assert client.get("/account/password").status_code == 200  # just logged in: fresh
        clock[0] += 11 * 60
        stale = client.get("/account/password")
        assert stale.status_code == 303
        assert stale.headers["location"] == "/login?fresh=1&next=/account/password"
        again = client.get(stale.headers["location"])
        assert "Confirm it is you" in again.text
        fields = {"username": "alice", "password": PASSWORD, "csrf_token": form_token(again.text)}
        relogin = client.post("/login", data={**fields, "next": "/account/password"})
        assert relogin.headers["location"] == "/account/password"
        page = client.get("/account/password")
        token = form_token(page.text)
        new = {"new_password": "another one!", "again": "another one!", "csrf_token": token}
        # A session alone (a stolen cookie, even fresh) cannot change it: the current password
        wrong = client.post("/account/password", data={**new, "current_password": "guess!!!"})
        assert wrong.status_code == 400 and "current password is wrong" in wrong.text
        assert accounts.verify("alice", PASSWORD)
        differ = {**new, "again": "another two!", "current_password": PASSWORD}
        assert client.post("/account/password", data=differ).status_code == 400
        data = {**new, "current_password": PASSWORD}
        done = client.post("/account/password", data=data)
        assert done.status_code == 200 and "Password changed" in done.text
        assert client.get("/").text == "hello alice"  # this session goes on
        assert other.get("/").status_code == 401  # every other one ended
        assert accounts.verify("alice", "another one!")


async def test_registry_survives_a_restart_and_expires(tmp_path: Path) -> None:
    clock = [1000.0]
    path = tmp_path / "sessions.json"
    registry = SessionRegistry(path, max_age=60, clock=lambda: clock[0])
    sid = await registry.start("alice", remember=False)
    kept = await registry.start("alice", remember=True)
    again = SessionRegistry(path, max_age=60, clock=lambda: clock[0])
    live = await again.get(sid)
    assert live is not None and live.is_fresh(again.now())
    clock[0] += 61
    assert await again.get(sid) is None and await again.get(kept) is not None
    assert await again.revoke_user("alice") == 1 and await again.get(kept) is None


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"origin": "https://evil.example"}, 403),
        ({"sec-fetch-site": "cross-site"}, 403),
        ({"sec-fetch-site": "same-site"}, 403),
        ({"sec-fetch-site": "same-origin"}, 200),
        ({"origin": "https://panel.example", "sec-fetch-site": "cross-site"}, 200),  # CORS origin
    ],
)
def test_csrf_checks_the_origin_too(
    serve_app: Serve, accounts: Accounts, headers: dict[str, str], status: int
) -> None:
    server = serve_app(build_app(accounts, secure=False, origins=("https://panel.example",)))
    with httpx.Client(base_url=server.url) as client:
        login(client)
        token = form_token(client.get("/token").text)
        own = client.post("/act", headers={"x-csrf-token": token, "origin": server.url})
        assert own.status_code == 200
        response = client.post("/act", headers={"x-csrf-token": token, **headers})
        assert response.status_code == status, response.text


def test_jwt_signer_revokes_all_when_the_secret_goes(tmp_path: Path) -> None:
    signer = JwtSigner(tmp_path / "jwt-secret")
    token = signer.issue("alice", "tag1")
    assert signer.verify(token) == ("alice", "tag1")
    assert signer.verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    expired = JwtSigner(tmp_path / "jwt-secret", lifetime=-10).issue("alice", None)
    assert signer.verify(expired) is None
    forged = jwt.encode(
        {"sub": "alice", "iat": 0, "exp": 2**40},
        "a guessed secret of 32+ bytes, long enough",
        algorithm="HS256",
    )
    assert signer.verify(forged) is None
    unsigned = jwt.encode({"sub": "alice", "iat": 0, "exp": 2**40}, None, algorithm="none")
    assert signer.verify(unsigned) is None
    (tmp_path / "jwt-secret").unlink()
    assert signer.verify(token) is None


def test_parse_basic() -> None:
    good = "Basic " + base64.b64encode(b"owner:pa:ss").decode()
    assert parse_basic(good) == ("owner", "pa:ss")
    assert parse_basic("Basic !!!") is None
    assert parse_basic("Basic " + base64.b64encode(b"nocolon").decode()) is None
    assert parse_basic("Bearer x") is None
