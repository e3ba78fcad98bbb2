import socket
import ssl
import stat
from pathlib import Path

from cryptography import x509

from yardcam.web import ensure_self_signed_cert


def test_creates_a_usable_pair_with_a_private_key(tmp_path: Path) -> None:
    certfile, keyfile = ensure_self_signed_cert(tmp_path / "tls", ["cam.local", "127.0.0.1"])
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)  # raises if they do not match
    cert = x509.load_pem_x509_certificate(certfile.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["cam.local"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_default_names_cover_this_machine(tmp_path: Path) -> None:
    certfile, _ = ensure_self_signed_cert(tmp_path)
    cert = x509.load_pem_x509_certificate(certfile.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = san.get_values_for_type(x509.DNSName)
    assert {"localhost", socket.gethostname(), f"{socket.gethostname()}.local"} <= set(names)
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}


def test_keeps_a_valid_pair_and_replaces_a_mismatched_one(tmp_path: Path) -> None:
    certfile, keyfile = ensure_self_signed_cert(tmp_path)
    first = certfile.read_bytes()
    assert ensure_self_signed_cert(tmp_path) == (certfile, keyfile)
    assert certfile.read_bytes() == first
    other = tmp_path / "other"
    ensure_self_signed_cert(other)
    keyfile.write_bytes((other / "key.pem").read_bytes())  # as if a crash split the pair
    ensure_self_signed_cert(tmp_path)
    assert certfile.read_bytes() != first
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)
