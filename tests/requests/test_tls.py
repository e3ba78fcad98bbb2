"""TLS by URL scheme: verification by default, CA bundles, contexts, verify=False, mutual TLS."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from echo_servers import EchoServer, EchoState, make_echo_app

from serving import Running, TLSFiles, serve
from yardcam import requests
from yardcam.requests._tls import CertArg, TLSContexts, create_ssl_context


def test_default_trust_store_rejects_unknown_ca(tls_echo_server: EchoServer) -> None:
    with pytest.raises(requests.SSLError) as info:
        requests.get(tls_echo_server.url + "/echo")
    assert isinstance(info.value, requests.ConnectionError) and isinstance(info.value, OSError)
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)


def test_verify_with_ca_bundle_path(tls_echo_server: EchoServer, tls_files: TLSFiles) -> None:
    r = requests.get(tls_echo_server.url + "/echo", verify=str(tls_files.ca_pem))
    assert r.ok and r.json()["path"] == "/echo"
    r = requests.get(tls_echo_server.url + "/echo", verify=tls_files.ca_pem)  # a Path works too
    assert r.ok


def test_verify_with_context(
    tls_echo_server: EchoServer, client_ssl_context: ssl.SSLContext
) -> None:
    assert requests.get(tls_echo_server.url + "/echo", verify=client_ssl_context).ok


def test_verify_false_skips_checks(tls_echo_server: EchoServer) -> None:
    assert requests.get(tls_echo_server.url + "/echo", verify=False).ok


def test_verify_false_loads_no_trust_store() -> None:
    # Loading the system store costs tens of ms of CPU for certificates nobody will check.
    ctx = create_ssl_context(False)
    assert ctx.verify_mode is ssl.CERT_NONE and not ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0
    assert ctx.minimum_version is ssl.TLSVersion.TLSv1_2


def test_hostname_is_checked(tls_files: TLSFiles, tmp_path: Path) -> None:
    other_ca = trustme.CA()
    cert = other_ca.issue_cert("camera.example")  # valid chain, wrong name for 127.0.0.1
    files = TLSFiles(
        ca_pem=tmp_path / "ca.pem", cert_pem=tmp_path / "c.pem", key_pem=tmp_path / "k.pem"
    )
    other_ca.cert_pem.write_to_path(str(files.ca_pem))
    cert.private_key_and_cert_chain_pem.write_to_path(str(files.cert_pem))
    cert.private_key_pem.write_to_path(str(files.key_pem))
    with (
        serve(make_echo_app(EchoState()), files) as running,
        pytest.raises(requests.SSLError, match=r"(?i)hostname|match"),
    ):
        requests.get(running.url + "/echo", verify=str(files.ca_pem))


def test_plain_http_server_with_https_url(echo_server: EchoServer) -> None:
    with pytest.raises(requests.SSLError):
        requests.get(echo_server.url.replace("http://", "https://") + "/echo", verify=False)


def test_missing_ca_bundle_is_misuse(tls_echo_server: EchoServer, tmp_path: Path) -> None:
    with pytest.raises(requests.InvalidRequest):
        requests.get(tls_echo_server.url, verify=str(tmp_path / "nope.pem"))


def test_mutual_tls_with_client_cert(
    serve_app: Callable[..., Running], tls_ca: trustme.CA, tls_files: TLSFiles, tmp_path: Path
) -> None:
    running = serve_app(
        make_echo_app(EchoState()),
        tls_files,
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        ssl_ca_certs=str(tls_files.ca_pem),
    )
    client = tls_ca.issue_cert("cam-01@yardcam.example")
    both = tmp_path / "client.pem"
    cert_only, key_only = tmp_path / "cert.pem", tmp_path / "key.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(both))
    for blob in client.cert_chain_pems:
        blob.write_to_path(str(cert_only), append=True)
    client.private_key_pem.write_to_path(str(key_only))
    ca = str(tls_files.ca_pem)

    assert requests.get(running.url + "/echo", verify=ca, cert=str(both)).ok
    assert requests.get(running.url + "/echo", verify=ca, cert=(str(cert_only), str(key_only))).ok
    with pytest.raises(requests.ConnectionError):  # no client certificate: the server refuses
        requests.get(running.url + "/echo", verify=ca)


class RecordingBuilder:
    """The real context factory, noting the thread each build ran in."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def __call__(self, verify: object, cert: CertArg) -> ssl.SSLContext:
        self.threads.append(threading.get_ident())
        return create_ssl_context(verify, cert)


async def test_async_contexts_are_built_once_off_the_loop(tls_files: TLSFiles) -> None:
    builder = RecordingBuilder()
    contexts = TLSContexts(build=builder)
    ca = str(tls_files.ca_pem)
    got = await asyncio.gather(*(contexts.aget(ca, None) for _ in range(8)))
    assert all(ctx is got[0] for ctx in got)  # concurrent first requests share one build
    assert await contexts.aget(Path(ca), None) is got[0]  # a Path is the same setting
    assert len(builder.threads) == 1 and builder.threads[0] != threading.get_ident()
    assert got[0].verify_mode == ssl.CERT_REQUIRED and got[0].check_hostname


def test_sync_contexts_are_built_inline() -> None:
    builder = RecordingBuilder()
    contexts = TLSContexts(build=builder)
    assert contexts.get(False, None) is contexts.get(False, None)
    assert builder.threads == [threading.get_ident()]


async def test_cancelled_waiter_leaves_the_build_to_the_others(tls_files: TLSFiles) -> None:
    builder = RecordingBuilder()
    contexts = TLSContexts(build=builder)
    first = asyncio.ensure_future(contexts.aget(True, None))
    second = asyncio.ensure_future(contexts.aget(True, None))
    await asyncio.sleep(0)  # both are waiting for the build now
    first.cancel()
    ctx = await second
    assert first.cancelled() and ctx.verify_mode == ssl.CERT_REQUIRED
    assert await contexts.aget(True, None) is ctx and len(builder.threads) == 1


async def test_failed_async_build_is_refused_and_tried_again(tmp_path: Path) -> None:
    builder = RecordingBuilder()
    contexts = TLSContexts(build=builder)
    missing = str(tmp_path / "nope.pem")
    for _ in range(2):
        with pytest.raises(requests.InvalidRequest, match="CA bundle"):
            await contexts.aget(missing, None)
    assert len(builder.threads) == 2


async def test_async_session_builds_its_contexts_off_the_loop(
    tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    builder = RecordingBuilder()
    ca = str(tls_files.ca_pem)
    async with requests.AsyncSession(verify=ca) as s:
        s._tls = TLSContexts(build=builder)  # the seam: the real factory, observed
        url = tls_echo_server.url + "/echo"
        answers = await asyncio.gather(
            *(s.get(url) for _ in range(4)), *(s.get(url, verify=False) for _ in range(4))
        )
        assert all(r.ok for r in answers)
        assert (await s.get(url)).ok
    assert len(builder.threads) == 2  # one per setting, however many requests
    assert threading.get_ident() not in builder.threads
