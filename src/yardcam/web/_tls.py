"""A self-signed certificate for first run, so the dashboard is https from the very start."""

from __future__ import annotations

import datetime
import ipaddress
import socket
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..durable import write_atomic

_RENEW_BEFORE = datetime.timedelta(days=30)


def ensure_self_signed_cert(
    directory: Path,
    hostnames: Sequence[str] | None = None,
    *,
    days: int = 825,
) -> tuple[Path, Path]:
    """``(certfile, keyfile)`` in ``directory``; created, or replaced when within 30 days of expiry.

    ``hostnames`` default to localhost, this machine's name (and ``<name>.local``, how phones on
    the LAN reach it) and the loopback addresses. The key is P-256 and written 0600. An existing
    pair that is still valid is kept, so browsers told to trust it keep trusting it.
    """
    if hostnames is None:
        host = socket.gethostname()
        hostnames = ("localhost", host, f"{host}.local", "127.0.0.1", "::1")
    directory = Path(directory)
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    if _still_valid(certfile, keyfile):
        return certfile, keyfile
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"yardcam {hostnames[0]}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hostnames]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # A crash between these two writes leaves a key that does not match the cert; the next
    # start sees the mismatch in _still_valid and makes a fresh pair.
    write_atomic(keyfile, key_pem)
    write_atomic(certfile, cert.public_bytes(serialization.Encoding.PEM))
    certfile.chmod(0o644)
    return certfile, keyfile


def _san(hostname: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return x509.DNSName(hostname)


def _still_valid(certfile: Path, keyfile: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(certfile.read_bytes())
        key = serialization.load_pem_private_key(keyfile.read_bytes(), password=None)
    except (FileNotFoundError, ValueError, TypeError):
        return False
    if cert.public_key() != key.public_key():
        return False
    return cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > _RENEW_BEFORE
