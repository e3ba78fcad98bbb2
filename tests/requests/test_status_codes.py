"""``requests.codes``: every HTTPStatus name plus requests' aliases, looked up as in requests."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from yardcam import requests
from yardcam.requests.status_codes import ALIASES


def test_every_http_status_name_in_both_cases() -> None:
    for name, status in HTTPStatus.__members__.items():
        assert getattr(requests.codes, name) == status
        assert requests.codes[name.lower()] == status


def test_requests_aliases() -> None:
    codes = requests.codes
    assert (codes.ok, codes.okay, codes["\\o/"], codes.all_good) == (200, 200, 200, 200)
    assert (codes.teapot, codes.TEAPOT, codes["i_am_a_teapot"]) == (418, 418, 418)
    assert (codes.not_found, codes["-o-"], codes.precondition) == (404, 404, 428)
    assert (codes.retry_with, codes.client_closed_request, codes["/o\\"]) == (449, 499, 500)
    assert codes.get("temporary_redirect") == 307


def test_aliases_never_rename_an_http_status() -> None:
    # The table holds only what HTTPStatus does not spell; it may not move a standard name.
    standard = {name.lower(): int(status) for name, status in HTTPStatus.__members__.items()}
    for status, aliases in ALIASES.items():
        for alias in aliases:
            assert standard.get(alias, status) == status, alias
    assert requests.codes.request_uri_too_long == 414  # requests says 122; the RFC name wins


def test_unknown_names_like_requests_lookupdict() -> None:
    assert requests.codes["no_such_status"] is None
    assert requests.codes.get("no_such_status", 0) == 0
    with pytest.raises(AttributeError, match="no HTTP status is named 'no_such_status'"):
        requests.codes.no_such_status  # noqa: B018


def test_agrees_with_cpython_requests() -> None:
    import requests as cpython_requests  # installed as a benchmark peer

    theirs = {k: v for k, v in vars(cpython_requests.codes).items() if isinstance(v, int)}
    differ = {name for name, status in theirs.items() if requests.codes[name] != status}
    # Where the RFCs say otherwise (see the module doc): 122 is no registered status, its names
    # are 414's; Early Hints is 103, not 102.
    rfc = {"uri_too_long", "request_uri_too_long", "early-hints"}
    assert differ <= rfc | {name.upper() for name in rfc}
