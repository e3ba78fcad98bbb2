"""Where the upload token comes from: a file or an environment variable, re-read on demand.

Rotation needs no restart: replace the file (or the variable) and the uploader picks the new
token up the next time the archive rejects the old one.
"""

from __future__ import annotations

import os
from pathlib import Path


class TokenUnavailable(OSError):
    """The token file is missing/unreadable or the variable is unset/empty."""


class TokenSource:
    """A bearer token read from ``path`` or the environment variable ``env`` (exactly one).

    >>> import os
    >>> os.environ["YARDCAM_DOCTEST_TOKEN"] = " s3cret\\n"
    >>> TokenSource(env="YARDCAM_DOCTEST_TOKEN").read()
    's3cret'
    """

    def __init__(self, path: Path | str | None = None, *, env: str | None = None) -> None:
        if (path is None) == (env is None):
            raise ValueError("TokenSource needs exactly one of path= or env=")
        self.path = Path(path) if path is not None else None
        self.env = env

    def __repr__(self) -> str:  # never shows the token itself
        where = f"path={str(self.path)!r}" if self.path else f"env={self.env!r}"
        return f"TokenSource({where})"

    def read(self) -> str:
        """The current token, stripped of surrounding whitespace (a file's trailing newline)."""
        if self.path is not None:
            try:
                token = self.path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise TokenUnavailable(f"cannot read the token file {self.path}: {exc}") from exc
            where = f"token file {self.path}"
        else:
            assert self.env is not None
            token = os.environ.get(self.env, "").strip()
            where = f"environment variable {self.env}"
        if not token:
            raise TokenUnavailable(f"the {where} is empty")
        if any(c in token for c in "\r\n\0"):
            raise TokenUnavailable(f"the {where} holds more than one line")
        return token
