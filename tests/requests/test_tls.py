"""TLS by URL scheme: verification by default, CA bundles, contexts, verify=False, mutual TLS."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from conftest import EchoServer, EchoState, make_echo_app
from serving import Running, TLSFiles, serve
from yardcam import requests


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
