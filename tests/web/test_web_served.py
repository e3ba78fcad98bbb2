"""The security behaviour of yardcam.web through a real uvicorn, over real TLS where it matters."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx

from serving import Running, TLSFiles
from web.websupport import PASSWORD, build_app, form_token
from yardcam.web import Accounts

Serve = Callable[..., Running]
HTML = {"accept": "text/html"}


def login(client: httpx.Client, password: str = PASSWORD, user: str = "alice") -> httpx.Response:
    token = form_token(client.get("/login").text)
    data = {"username": user, "password": password, "csrf_token": token, "next": "/"}
    return client.post("/login", data=data)


def test_login_sets_a_hardened_cookie_over_https(
    serve_app: Serve, accounts: Accounts, tls_files: TLSFiles, client_ssl_context: ssl.SSLContext
) -> None:
    server = serve_app(build_app(accounts, secure=True), tls=tls_files)
    with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
        assert client.get("/", headers=HTML).headers["location"] == "/login?next=/"
        assert client.get("/").status_code == 401  # APIs get 401, not a redirect
        response = login(client)
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers["set-cookie"].lower()
        assert cookie.startswith("testapp=")
        for flag in ("httponly", "secure", "samesite=lax", "path=/"):
            assert flag in cookie
        assert "max-age" not in cookie  # no "remember me": a browser-session cookie
        page = client.get("/")
        assert page.text == "hello alice"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["strict-transport-security"] == "max-age=31536000"


def test_wrong_password_is_a_401_page(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        response = login(client, "nope-nope")
        assert response.status_code == 401
        assert "Wrong username or password" in response.text
        assert "Traceback" not in response.text
        assert login(client, user="ghost").status_code == 401
        assert client.get("/").status_code == 401


def test_login_without_csrf_token_is_refused(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        data = {"username": "alice", "password": PASSWORD}
        assert client.post("/login", data=data).status_code == 403  # no cookie at all
        client.get("/login")
        assert client.post("/login", data=data).status_code == 403  # cookie, no token


def test_csrf_on_unsafe_requests(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        login(client)
        token = form_token(client.get("/token").text)
        refused = client.post("/act", data={"x": "1"})
        assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
        assert client.post("/act", data={"x": "1", "csrf_token": "forged"}).status_code == 403
        assert client.post("/act", headers={"x-csrf-token": "forged"}).status_code == 403
        # The endpoint still reads the form body the middleware inspected.
        ok = client.post("/act", data={"x": "1", "csrf_token": token})
        assert ok.status_code == 200 and ok.json()["body"] == f"x=1&csrf_token={token}"
        ok = client.post("/act", headers={"x-csrf-token": token}, content=b"{}")
        assert ok.json()["done"]
        # A bearer request is exempt, and the session riding along is not honoured.
        bearer = client.post("/api", headers={"authorization": "Bearer abc"})
        assert bearer.status_code == 200 and bearer.json() == {"session_user": None}
        assert client.get("/").text == "hello alice"  # ...and the real session survived
        # Logout is a form too, and ends the session.
        assert client.post("/logout").status_code == 403
        assert client.post("/logout", data={"csrf_token": token}).status_code == 303
        assert client.get("/").status_code == 401


def test_password_change_ends_sessions(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        login(client)
        assert client.get("/").status_code == 200
        accounts.set_password("alice", "a brand new one")
        assert client.get("/").status_code == 401


def test_throttle_answers_429_with_retry_after(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            assert login(client, "bad-password").status_code == 401
        locked = login(client)  # even the right password waits out the lockout
        assert locked.status_code == 429
        assert 0 < int(locked.headers["retry-after"]) <= 60
        assert "Too many failed attempts" in locked.text
        assert login(client, user="bob").status_code == 401  # other usernames are unaffected


def test_security_headers_on_every_response(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        for response in (client.get("/login"), client.get("/nowhere"), client.get("/")):
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "same-origin"
            assert "strict-transport-security" not in response.headers  # plain http


def test_cors_only_for_configured_origins(serve_app: Serve, accounts: Accounts) -> None:
    allowed = "https://dash.example"
    server = serve_app(build_app(accounts, secure=False, origins=(allowed,)))
    with httpx.Client(base_url=server.url) as client:
        simple = client.get("/login", headers={"origin": allowed})
        assert simple.headers["access-control-allow-origin"] == allowed
        assert simple.headers["access-control-allow-credentials"] == "true"
        other = client.get("/login", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = {"access-control-request-method": "POST"}
        ok = client.options("/api", headers={"origin": allowed, **preflight})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == allowed
        assert ok.headers["access-control-max-age"] == "86400"
        assert ok.headers["access-control-allow-credentials"] == "true"
        allowed_headers = ok.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed_headers and "x-csrf-token" in allowed_headers
        bad = client.options("/api", headers={"origin": "https://evil.example", **preflight})
        assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
    server = serve_app(build_app(accounts, secure=False))  # no origins configured: no CORS
    with httpx.Client(base_url=server.url) as client:
        response = client.get("/login", headers={"origin": allowed})
        assert "access-control-allow-origin" not in response.headers


def test_login_redirects_only_to_local_paths(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        for target, expected in [("/x?y=1", "/x?y=1"), ("//evil.example", "/"), ("http://e", "/")]:
            token = form_token(client.get("/login").text)
            data = {"username": "alice", "password": PASSWORD, "csrf_token": token}
            response = client.post("/login", data={**data, "next": target})
            assert response.headers["location"] == expected
            client.post("/logout", data={"csrf_token": form_token(client.get("/token").text)})


def test_login_form_is_escaped_and_bounded(serve_app: Serve, accounts: Accounts) -> None:
    server = serve_app(build_app(accounts, secure=False))
    with httpx.Client(base_url=server.url) as client:
        token = form_token(client.get("/login").text)
        data = {"username": "<script>x</script>", "password": "p" * 20, "csrf_token": token}
        page = client.post("/login", data=data)
        assert page.status_code == 401
        assert "&lt;script&gt;x&lt;/script&gt;" in page.text and "<script>x" not in page.text
        huge = client.post("/login", data={**data, "password": "p" * 100_000})
        assert huge.status_code == 413
        assert client.post("/login", files={"f": b"x"}, data=data).status_code == 403
    with httpx.Client(base_url=server.url) as cookieless:  # not buffered by the CSRF check
        assert cookieless.post("/login", content=b"a=" + b"x" * 100_000).status_code == 413
