"""Secrets out of everything printed: a URL's password masked before it reaches a log line,
an error message or a `repr`.

NOTE: mask at the moment of printing, never in the value that is used: the engine, the REST
client and the worker hand-off need the real URL.
"""

from __future__ import annotations

import re

MASK = "***"

_SECRET_QUERY = re.compile(r"(?i)([?&](?:password|passwd|pwd|sslpassword|secret|token)=)[^&#]*")
"""Query parameters that carry a secret (libpq reads `?password=`; some URLs carry a token)."""


def mask_url(url: str) -> str:
    """`postgresql://user:s3cret@host/db` -> `postgresql://user:***@host/db`; anything else kept.

    The userinfo is what precedes the last `@` of the authority (RFC 3986, as urllib and requests
    read it). NOTE: a password containing `/`, `?` or `#` must be percent-encoded in the URL (as
    SQLAlchemy's documentation also asks); unencoded, the part after such a character is not found.
    Strings without `://` (plain paths) and URLs without an authority (`sqlite:///...`) come back
    unchanged, apart from secret query parameters, which are masked in every URL.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:{MASK}@{hostport}"
    return f"{scheme}://{authority}{_SECRET_QUERY.sub(lambda m: m.group(1) + MASK, tail)}"


__all__ = ["MASK", "mask_url"]
