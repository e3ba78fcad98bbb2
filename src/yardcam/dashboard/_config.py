"""The tutorial's config contract, shared by ``POST /config`` and the ``set_threshold`` command.

``{"threshold": N}`` with N an integer 0..100; the refusals are the tutorial's exact reasons.

>>> parse_threshold({"threshold": 20})
20
>>> parse_threshold({"threshold": 20.5})
Traceback (most recent call last):
...
yardcam.dashboard._config.ConfigError: threshold must be an integer
>>> shown_threshold(12.0), shown_threshold(12.5)
(12, 12.5)
"""

from __future__ import annotations

from typing import Any

MISSING = "missing threshold"
NOT_INTEGER = "threshold must be an integer"
OUT_OF_RANGE = "threshold out of range"


class ConfigError(ValueError):
    """A refused config change; ``str()`` is the reason sent back as is."""


def parse_threshold(body: Any) -> int:
    if not isinstance(body, dict) or "threshold" not in body:
        raise ConfigError(MISSING)
    value = body["threshold"]
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)  # the no-JavaScript HTML form sends text
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(NOT_INTEGER)
    if not 0 <= value <= 100:
        raise ConfigError(OUT_OF_RANGE)
    return value


def shown_threshold(value: float) -> int | float:
    """The threshold as the API shows it: an integer when it is whole, the tutorial's shape and
    what ``POST /config`` takes (the detector keeps a float: a config file may say 12.5).
    """
    return int(value) if float(value).is_integer() else value
