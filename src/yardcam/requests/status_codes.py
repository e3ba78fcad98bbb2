r"""``requests.codes``: HTTP status codes by name, as in CPython requests.

``codes.ok == 200``, ``codes.NOT_FOUND == 404``, ``codes["teapot"] == 418``. As with requests'
``LookupDict``, an unknown name looked up as an item gives None and as an attribute raises
AttributeError.

Where the names come from: every ``http.HTTPStatus`` member (the IANA registry's reason phrases:
``not_found``, ``im_a_teapot``, ``too_many_requests``...), plus the extra aliases CPython requests
documents in ``requests.status_codes`` (2.34) that HTTPStatus does not already give (``okay``,
``teapot``, ``\o/``, RFC 9110's ``content_too_large`` before Python 3.13, and the unregistered
codes it names, such as 449 ``retry_with``). Each name also works in upper case, except the
symbolic ones (``\o/``, ``/o\``). Where requests gives another number to an HTTPStatus or RFC
9110 name, the RFC wins: requests' 122 (a browser quirk, never sent by a server) is left out, so
``request_uri_too_long`` and ``uri_too_long`` are 414, and ``early-hints`` is 103 (RFC 8297;
requests 2.34 lists it under 102). ``precondition`` is 428, as in requests.

>>> codes.ok, codes.OK, codes["not_found"], codes.teapot, codes["no_such_status"]
(200, 200, 404, 418, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

__all__ = ["StatusCodes", "codes"]

#: requests' documented aliases that HTTPStatus does not spell (status -> extra names).
ALIASES: dict[int, tuple[str, ...]] = {
    103: ("checkpoint", "early-hints"),
    200: ("okay", "all_ok", "all_okay", "all_good", "\\o/", "✓"),
    203: ("non_authoritative_info",),
    205: ("reset",),
    206: ("partial",),
    207: ("multiple_status", "multi_stati", "multiple_stati"),
    301: ("moved", "\\o-"),
    303: ("other",),
    306: ("switch_proxy",),
    307: ("temporary_moved", "temporary"),
    308: ("resume_incomplete", "resume"),
    400: ("bad",),
    402: ("payment",),
    404: ("-o-",),
    405: ("not_allowed",),
    407: ("proxy_auth", "proxy_authentication"),
    408: ("timeout",),
    413: ("content_too_large",),  # RFC 9110's names: HTTPStatus has them from Python 3.13
    414: ("uri_too_long", "request_uri_too_large"),
    415: ("unsupported_media", "media_type"),
    416: ("requested_range", "range_not_satisfiable"),
    418: ("teapot", "i_am_a_teapot"),
    422: ("unprocessable_content", "unprocessable"),
    424: ("dependency",),
    425: ("unordered_collection", "unordered"),
    426: ("upgrade",),
    428: ("precondition",),
    429: ("too_many",),
    431: ("header_fields_too_large", "fields_too_large"),
    444: ("no_response", "none"),
    449: ("retry_with", "retry"),
    450: ("blocked_by_windows_parental_controls", "parental_controls"),
    451: ("legal_reasons",),
    499: ("client_closed_request",),
    500: ("server_error", "/o\\", "✗"),
    503: ("unavailable",),
    505: ("http_version",),
    509: ("bandwidth_limit_exceeded", "bandwidth"),
    511: ("network_auth", "network_authentication"),
}


class StatusCodes:
    """Status numbers by name: ``codes.not_found``, ``codes["not_found"]``, ``codes.get(...)``."""

    __slots__ = ("_by_name",)

    def __init__(self, by_name: Mapping[str, int]) -> None:
        self._by_name = dict(by_name)

    def __getattr__(self, name: str) -> int:
        try:
            return self._by_name[name]
        except KeyError:
            raise AttributeError(f"no HTTP status is named {name!r}") from None

    def __getitem__(self, name: str) -> int | None:
        return self._by_name.get(name)

    def get(self, name: str, default: int | None = None) -> int | None:
        return self._by_name.get(name, default)

    def __repr__(self) -> str:
        return "<lookup 'status_codes'>"


def _names() -> dict[str, int]:
    names = {member.lower(): int(status) for member, status in HTTPStatus.__members__.items()}
    for status, aliases in ALIASES.items():
        for alias in aliases:
            names.setdefault(alias, status)  # HTTPStatus wins
    for name, status in list(names.items()):
        if not name.startswith(("\\", "/")):
            names.setdefault(name.upper(), status)
    return names


codes = StatusCodes(_names())
