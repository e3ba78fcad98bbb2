"""Secrets out of anything printed or logged: URL passwords and key-like query parameters.

A storage URL may carry credentials (``postgresql://user:PASSWORD@db/...``,
``s3://bucket?access_key=...&secret_key=...``), and so may a camera source
(``rtsp://user:PASSWORD@cam/...``). ``config show``, the start banners and the log filter all
pass URLs through :func:`redact_url`, the one place that knows what a secret looks like.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

MASK = "***"

# Query parameters whose value is a credential (S3 keys, signed-URL signatures, tokens).
_SECRET_PARAM = re.compile(
    r"(access[_-]?key|secret|password|passwd|token|signature|sig|credential|api[_-]?key)", re.I
)
# A URL with userinfo anywhere in a text (log lines): scheme://user:password@host
_USERINFO_IN_TEXT = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")
_PARAM_IN_TEXT = re.compile(
    r"(?P<head>[?&](?:[A-Za-z_-]*(?:access[_-]?key|secret|password|passwd|token|signature|sig"
    r"|credential|api[_-]?key)[A-Za-z_-]*)=)[^&\s#]+",
    re.I,
)
# Bearer tokens and yardcam's own token format, wherever they appear in a message.
_TOKEN_IN_TEXT = re.compile(r"(?P<head>Bearer\s+)\S+|\byc_[0-9a-f]{12}_[A-Za-z0-9_-]+", re.I)


def is_secret_param(name: str) -> bool:
    return _SECRET_PARAM.search(name) is not None


def redact_url(url: str) -> str:
    """``url`` with its password and credential query values replaced by ``***``.

    >>> redact_url("s3://frames?endpoint=http://s3:8333&access_key=AK&secret_key=SK")
    's3://frames?endpoint=http://s3:8333&access_key=***&secret_key=***'
    >>> redact_url("postgresql://archive:s3cret@db:5432/yc")
    'postgresql://archive:***@db:5432/yc'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if not parts.scheme:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_param(name) for name, _ in pairs):
            query = "&".join(
                f"{quote(name, safe='_-.')}="
                + (MASK if is_secret_param(name) else quote(value, safe=":/._-"))
                for name, value in pairs
            )
    if netloc == parts.netloc and query == parts.query:
        return url  # unchanged, byte for byte (urlunsplit would drop sqlite:////'s slashes)
    rebuilt = f"{parts.scheme}://{netloc}{parts.path}"
    return (
        rebuilt + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    )


def redact_text(text: str) -> str:
    """Free text (a log message, an error) with URL passwords, key parameters and tokens masked."""
    text = _USERINFO_IN_TEXT.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _PARAM_IN_TEXT.sub(lambda m: f"{m['head']}{MASK}", text)
    return _TOKEN_IN_TEXT.sub(lambda m: f"{m['head'] or ''}{MASK}", text)
