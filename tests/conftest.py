"""Fixtures shared by every test package: TLS material, real uvicorn servers, and the
PostgreSQL and SeaweedFS servers of the archive's scaled stack (started on first use)."""

from __future__ import annotations

import contextlib
import secrets
import ssl
from collections.abc import Callable, Iterator

import pytest
import trustme

from archive.servers import postgres_server, seaweedfs_server
from serving import Running, TLSFiles, serve


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_files(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """CA bundle + server cert/key for 127.0.0.1 and localhost, as files (the cam case)."""
    d = tmp_path_factory.mktemp("tls")
    cert = tls_ca.issue_cert("127.0.0.1", "localhost")
    ca_pem, cert_pem, key_pem = d / "ca.pem", d / "cert.pem", d / "key.pem"
    tls_ca.cert_pem.write_to_path(str(ca_pem))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    return TLSFiles(ca_pem=ca_pem, cert_pem=cert_pem, key_pem=key_pem)


@pytest.fixture(scope="session")
def client_ssl_context(tls_files: TLSFiles) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files.ca_pem))


@pytest.fixture
def serve_app() -> Iterator[Callable[..., Running]]:
    """``serve_app(app, tls=None, **uvicorn_config)`` -> Running; stopped at test end."""
    with contextlib.ExitStack() as stack:

        def start(app: object, tls: TLSFiles | None = None, **config: object) -> Running:
            return stack.enter_context(serve(app, tls, **config))

        yield start


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seaweedfs_server(tmp_path_factory.mktemp("seaweedfs")) as url:
        yield url


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    return f"frames-{secrets.token_hex(6)}"
