"""Which request follows a redirect response (RFC 9110 15.4), decided without I/O."""

from __future__ import annotations

from yardcam.requests._urls import join_url, parse_url
from yardcam.requests.models import PreparedRequest, Response

__all__ = ["DEFAULT_MAX_REDIRECTS", "REDIRECT_STATUSES", "next_request"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_MAX_REDIRECTS = 30

# Describe the body that a method change drops.
_BODY_HEADERS = ("content-length", "content-type", "transfer-encoding")


def next_request(response: Response, request: PreparedRequest) -> PreparedRequest | None:
    """The request to send for a redirect ``response``, or None when it is not a redirect.

    - 303 turns any method but HEAD into a body-less GET; 301/302 do so for POST, as browsers do.
    - 307/308 resend the same method and body (the caller rewinds it).
    - ``Authorization`` is dropped when the hop leaves the origin's host, or goes https -> http,
      so a token is never handed to a different server. The ``Cookie`` header is dropped too:
      the session rebuilds it for the new host from its jar.
    """
    location = response.headers.get("location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    old = request.parsed_url
    new = parse_url(join_url(request.url, location))
    method, body = request.method, request.body
    headers = request.headers.copy()
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        for name in _BODY_HEADERS:
            headers.pop(name, None)
    if new.host != old.host or (old.scheme == "https" and new.scheme == "http"):
        headers.pop("authorization", None)
    headers.pop("cookie", None)
    headers["Host"] = new.host_header
    return PreparedRequest(method, new, headers, body, request.cookies)
