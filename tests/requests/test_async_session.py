"""AsyncSession: the same behaviour as Session, over asyncio streams."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import socket
import uuid
from pathlib import Path

import pytest
from echo_servers import EchoServer, payload, raw_server, read_request_head

from serving import TLSFiles
from yardcam import requests
from yardcam.requests import AsyncSession, Retry

FAST = Retry(total=3, backoff=requests.Backoff(base=0.001))


async def test_seed_upload_over_https(tls_echo_server: EchoServer, tls_files: TLSFiles) -> None:
    jpeg = b"\xff\xd8" + payload(200_000) + b"\xff\xd9"
    async with AsyncSession(verify=str(tls_files.ca_pem)) as s:
        r = await s.post(
            tls_echo_server.url + "/form",
            files={"image": (f"frame-{17}.jpg", io.BytesIO(jpeg))},
            data={"cam": "yard"},
            headers={"Authorization": "Bearer tok", "Idempotency-Key": "f-17"},
        )
    got = r.json()
    assert got["authorization"] == "Bearer tok" and got["fields"] == [["cam", "yard"]]
    [part] = got["files"]
    assert part["filename"] == "frame-17.jpg" and part["size"] == len(jpeg)
    assert part["sha256"] == hashlib.sha256(jpeg).hexdigest()


async def test_tls_bodies_of_every_size_arrive_whole(
    tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    # Over TLS the writes of one request are held back and sent together: bodies below, at
    # and above that hold's limit, and chunked ones, must arrive byte for byte, one after the
    # other on the same connection.
    sizes = [0, 1, 200_000, 256 * 1024 - 1, 256 * 1024, 1_000_003]
    async with AsyncSession(verify=str(tls_files.ca_pem)) as s:
        url = tls_echo_server.url + "/echo?tag=" + uuid.uuid4().hex
        for size in sizes:
            body = payload(size)
            for data in (io.BytesIO(body), iter([body[:7], body[7:]])):
                got = (await s.post(url, data=data)).json()
                assert got["body_size"] == size
                assert got["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert len(tls_echo_server.state.ports(url.rsplit("=", 1)[1])) == 1


@pytest.mark.parametrize("verb", ["get", "head", "options", "post", "put", "patch", "delete"])
async def test_every_verb(echo_server: EchoServer, verb: str) -> None:
    async with AsyncSession() as s:
        r = await getattr(s, verb)(echo_server.url + "/echo", params={"v": verb})
    assert r.status_code == 200
    if verb != "head":
        assert r.json()["method"] == verb.upper() and r.json()["query"] == [["v", verb]]


async def test_bodies_file_generator_async_iterable_json(
    echo_server: EchoServer, tmp_path: Path
) -> None:
    blob = payload(400_000)
    path = tmp_path / "f.bin"
    path.write_bytes(blob)
    digest = hashlib.sha256(blob).hexdigest()

    async def agen():
        for i in range(0, len(blob), 100_000):
            await asyncio.sleep(0)
            yield blob[i : i + 100_000]

    async with AsyncSession() as s:
        with path.open("rb") as f:
            assert (await s.post(echo_server.url + "/echo", data=f)).json()["body_sha256"] == digest
        r = await s.post(echo_server.url + "/echo", data=agen())
        assert r.json()["body_sha256"] == digest
        assert ["transfer-encoding", "chunked"] in r.json()["headers"]
        r = await s.put(echo_server.url + "/echo", data=iter([blob[:10], blob[10:]]))
        assert r.json()["body_sha256"] == digest
        r = await s.post(echo_server.url + "/echo", json=[1, 2])
        assert r.json()["body_size"] == 5


async def test_errors(refused_port: int, silent_port: int, tls_echo_server: EchoServer) -> None:
    async with AsyncSession() as s:
        with pytest.raises(requests.ConnectionError) as refused:
            await s.get(f"http://127.0.0.1:{refused_port}/")
        assert refused.value.errno == errno.ECONNREFUSED
        with pytest.raises(OSError) as silent:
            await s.get(f"http://127.0.0.1:{silent_port}/", timeout=0.2)
        assert isinstance(silent.value, requests.ReadTimeout)
        assert silent.value.errno == errno.ETIMEDOUT
        with pytest.raises(requests.SSLError):
            await s.get(tls_echo_server.url + "/echo")
        with pytest.raises(requests.InvalidSchema):
            await s.get("ftp://x/")
        with pytest.raises(requests.InvalidHeader):
            await s.get(f"http://127.0.0.1:{refused_port}/", headers={"X": "a\r\nb"})
        r = await s.get(tls_echo_server.url + "/status/404", verify=False)
        assert (r.status_code, r.reason) == (404, "Not Found")
        with pytest.raises(requests.HTTPError):
            r.raise_for_status()


async def test_rejected_upload_gives_the_status(echo_server: EchoServer) -> None:
    async with AsyncSession() as s:
        for _ in range(2):
            r = await s.post(echo_server.url + "/reject", data=b"x" * 30_000_000)
            assert r.status_code == 413


async def test_redirects_and_retries(echo_server: EchoServer) -> None:
    key = uuid.uuid4().hex
    async with AsyncSession(retries=FAST) as s:
        r = await s.post(
            f"{echo_server.url}/redirect/307?to=/flaky/{key}%3Ffail%3D1%26retry_after%3D0",
            data=b"frame",
            headers={"Idempotency-Key": "k1"},
        )
        assert r.status_code == 200 and r.json()["calls"] == 2
        assert [h.status_code for h in r.history] == [307]
        r = await s.post(f"{echo_server.url}/redirect/303?to=/echo", data=b"frame")
        assert r.json()["method"] == "GET"
        with pytest.raises(requests.TooManyRedirects):
            await s.get(echo_server.url + "/chain/40")
        no_key = uuid.uuid4().hex
        r = await s.post(f"{echo_server.url}/flaky/{no_key}?fail=1", data=b"x")
        assert r.status_code == 503 and echo_server.state.calls(no_key) == 1


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
async def test_decoding(echo_server: EchoServer, coding: str) -> None:
    async with AsyncSession() as s:
        r = await s.get(f"{echo_server.url}/encoded/{coding}/100000")
    assert r.content == payload(100_000)


async def test_streaming(echo_server: EchoServer) -> None:
    async with AsyncSession() as s:
        r = await s.get(echo_server.url + "/chunked/300000?tag=astream", stream=True)
        with pytest.raises(requests.InvalidRequest):
            r.content  # noqa: B018 - an async stream must be read with aread()
        pieces = [p async for p in r.aiter_content(100_000)]
        assert [len(p) for p in pieces] == [100_000] * 3
        with pytest.raises(requests.StreamConsumedError):
            await r.aread()

        r = await s.get(echo_server.url + "/bytes/5000?tag=astream", stream=True)
        assert b"".join([chunk async for chunk in r]) == payload(5000)

        async with await s.get(echo_server.url + "/lines/4?tag=astream", stream=True) as r:
            assert [line async for line in r.aiter_lines()] == [
                b"line 0",
                b"line 1",
                b"line 2",
                b"line 3",
            ]

        r = await s.get(echo_server.url + "/bytes/100?tag=astream", stream=True)
        assert await r.aread() == payload(100) and r.content == payload(100)
    assert len(echo_server.state.ports("astream")) == 1


async def test_abandoned_stream_is_not_reused(echo_server: EchoServer) -> None:
    async with AsyncSession() as s:
        r = await s.get(echo_server.url + "/bytes/3000000?tag=aabandon", stream=True)
        async for _ in r.aiter_content(1000):
            break
        await r.aclose()
        assert (await s.get(echo_server.url + "/echo?tag=aabandon")).ok
    assert len(echo_server.state.ports("aabandon")) == 2


async def test_tasks_share_the_pool(echo_server: EchoServer) -> None:
    async with AsyncSession(pool_maxsize=3) as s:

        async def work() -> None:
            for _ in range(5):
                r = await s.post(echo_server.url + "/echo?tag=atasks", data=b"x" * 50_000)
                assert r.json()["body_size"] == 50_000

        await asyncio.gather(*(work() for _ in range(5)))
        assert s._pool.idle_count() <= 3
        for _ in range(5):  # sequential now: only pooled connections are used
            await s.get(echo_server.url + "/echo?tag=asequential")
    assert len(echo_server.state.ports("atasks")) < 25
    assert len(echo_server.state.ports("asequential")) == 1


async def test_stale_connection_is_replaced_once() -> None:
    def one_per_connection(conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        read_request_head(conn)

    with raw_server(one_per_connection) as server:
        async with AsyncSession() as s:
            for _ in range(3):
                assert (await s.get(server.url)).text == "ok"
    assert server.connections == 3


async def test_cancelled_request_drops_its_connection(echo_server: EchoServer) -> None:
    async with AsyncSession() as s:
        task = asyncio.create_task(s.get(echo_server.url + "/slow?delay=0.5&tag=acancel"))
        while not echo_server.state.ports("acancel"):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert s._pool.idle_count() == 0
        assert (await s.get(echo_server.url + "/echo?tag=acancel")).ok
    assert len(echo_server.state.ports("acancel")) == 2


async def test_cookies_and_auth(echo_server: EchoServer) -> None:
    async with AsyncSession(auth=requests.BearerAuth("t0k")) as s:
        await s.get(echo_server.url + "/set-cookie?sid=9")
        r = await s.get(echo_server.url + "/echo")
    assert r.json()["cookies"] == {"sid": "9"}
    assert ["authorization", "Bearer t0k"] in r.json()["headers"]


async def test_closed_session_refuses(echo_server: EchoServer) -> None:
    s = AsyncSession()
    await s.close()
    with pytest.raises(requests.InvalidRequest):
        await s.get(echo_server.url + "/echo")


async def test_sync_and_async_body_apis_are_not_mixed(echo_server: EchoServer) -> None:
    async with AsyncSession() as s:
        r = await s.get(echo_server.url + "/bytes/10", stream=True)
        with pytest.raises(requests.InvalidRequest, match="aread"):
            list(r.iter_content())
        assert await r.aread() == payload(10)  # the failed attempt consumed nothing
    sync = requests.get(echo_server.url + "/bytes/10", stream=True)
    with pytest.raises(requests.InvalidRequest, match="iter_content"):
        await sync.aread()
    sync.close()
