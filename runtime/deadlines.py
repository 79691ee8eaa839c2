"""A client's own deadline: `X-Request-Timeout` (seconds) or gRPC's `grpc-timeout` form.

A caller that gives up after 200 ms gains nothing from an answer after 2 s, and the server gains
from dropping its work: the request's timeout becomes the smaller of the header's and the
server's `--timeout`. A header we cannot read is the caller's mistake, a 400 that names it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from shipyard.exceptions import InvalidInput

TIMEOUT_HEADER = "x-request-timeout"
GRPC_TIMEOUT_HEADER = "grpc-timeout"
_GRPC_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
_GRPC_TIMEOUT = re.compile(r"^(\d{1,8})([HMSmun])$")


def header_values(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The deadline headers of an ASGI scope's raw header list (names lowercased)."""
    wanted = (TIMEOUT_HEADER.encode(), GRPC_TIMEOUT_HEADER.encode())
    return {name.lower().decode(): value.decode("latin-1") for name, value in raw if name.lower() in wanted}


def request_timeout(headers: dict[str, str], default: float) -> float:
    """Seconds this request may take: the server's `default`, or less if the client says so."""
    value = headers.get(TIMEOUT_HEADER)
    if value is not None:
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds) or seconds <= 0:
            raise InvalidInput(f"header X-Request-Timeout: {value!r} is not a positive number of seconds")
        return min(default, seconds)
    value = headers.get(GRPC_TIMEOUT_HEADER)
    if value is not None:
        match = _GRPC_TIMEOUT.match(value.strip())
        if match is None or int(match.group(1)) == 0:
            raise InvalidInput(
                f"header grpc-timeout: {value!r} is not a positive timeout such as '500m' or '2S' "
                "(at most 8 digits, then one of H, M, S, m, u, n)"
            )
        return min(default, int(match.group(1)) * _GRPC_UNITS[match.group(2)])
    return default


__all__ = ["GRPC_TIMEOUT_HEADER", "TIMEOUT_HEADER", "header_values", "request_timeout"]
