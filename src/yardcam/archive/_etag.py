"""Conditional GETs for frames and thumbnails, shared by the API and the gallery.

A frame never changes under its id (its ETag is its sha256), so a client that sends back an
ETag it holds gets a 304 and no body. ``If-None-Match`` is a list; weak tags (``W/"..."``) match
too (RFC 9110 13.1.2: If-None-Match uses the weak comparison), and ``*`` matches any frame that
exists.
"""

from __future__ import annotations


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header value names ``etag`` (a quoted strong tag)."""
    if not if_none_match:
        return False
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or etag in candidates
