"""Optional authentication for the whole server: bearer tokens or HTTP basic users, from files.

A request without a valid credential gets 401 before any handler runs, so nothing is read or
written for it. Credentials are compared in constant time. `/health` stays open for probes.
Browsers cannot send bearer tokens, so with tokens the UI's `/login` page stores the token in an
HttpOnly, SameSite=Strict cookie (never sent by other sites' pages), accepted like the header;
an unauthenticated page view is redirected there. Basic auth uses the browser's own prompt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from shipyard.exceptions import InvalidInput

OPEN_PATHS = ("/health", "/login", "/static/style.css")
"""Paths (after the `--static-prefix`) answered without credentials."""
TOKEN_COOKIE = "shipyard_token"


def read_tokens(path: Path) -> list[str]:
    """One token per line; blank lines and `#` comments are ignored."""
    tokens = [line.strip() for line in _lines(path)]
    if not tokens:
        raise InvalidInput(f"auth token file {str(path)!r} holds no token")
    return tokens


def read_users(path: Path) -> dict[str, str]:
    """`user:password` or `user:sha256:<hex of the password>` lines -> user -> sha256 hex."""
    users: dict[str, str] = {}
    for number, line in enumerate(_lines(path), start=1):
        user, sep, secret = line.strip().partition(":")
        if not sep or not user or not secret:
            raise InvalidInput(f"basic auth file {str(path)!r} line {number}: expected user:password")
        if secret.startswith("sha256:") and len(secret) == 71:
            users[user] = secret[7:].lower()
        else:
            users[user] = hashlib.sha256(secret.encode()).hexdigest()
    if not users:
        raise InvalidInput(f"basic auth file {str(path)!r} holds no user")
    return users


def _lines(path: Path) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot read auth file {str(path)!r}: {error.strerror}") from None
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _cookie(scope: dict[str, Any], name: str) -> bytes | None:
    headers: Iterable[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == b"cookie":
            for part in value.split(b";"):
                cookie_name, _, cookie_value = part.strip().partition(b"=")
                if cookie_name == name.encode():
                    return cookie_value
    return None


class AuthMiddleware:
    """Pure ASGI middleware (no per-request objects on the hot path)."""

    def __init__(
        self, app: Any, *, tokens: list[str] | None = None, users: dict[str, str] | None = None, prefix: str = ""
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.tokens = [t.encode() for t in tokens or []]
        self.users = users or {}

    def _user(self, header: bytes) -> str | None:
        """The authenticated user ('' for a token), or None."""
        scheme, _, value = header.partition(b" ")
        value = value.strip()
        if (
            self.tokens
            and scheme.lower() == b"bearer"
            and any(hmac.compare_digest(value, token) for token in self.tokens)
        ):
            return ""
        if self.users and scheme.lower() == b"basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            expected = self.users.get(user)
            given = hashlib.sha256(password.encode()).hexdigest()
            if expected is not None and hmac.compare_digest(given, expected):
                return user
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self.prefix and path.startswith(self.prefix + "/"):
            path = path[len(self.prefix) :]
        if path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        if not header and self.tokens:
            token = _cookie(scope, TOKEN_COOKIE)
            header = b"Bearer " + token if token else b""
        user = self._user(header) if header else None
        if user is None:
            if self.tokens and scope["method"] == "GET" and not path.startswith(("/api/", "/ajax-api/")):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 303,
                        "headers": [(b"location", f"{self.prefix}/login".encode()), (b"content-length", b"0")],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            await self._refuse(send)
            return
        if user:
            scope["shipyard.user"] = user
        await self.app(scope, receive, send)

    async def _refuse(self, send: Any) -> None:
        kind = "Basic" if self.users else "Bearer"
        body = orjson.dumps(
            {
                "error_code": "UNAUTHENTICATED",
                "message": f"this server needs credentials: send 'Authorization: {kind} ...' "
                "(SHIPYARD_TRACKING_TOKEN / MLFLOW_TRACKING_TOKEN for tokens, "
                "SHIPYARD_TRACKING_USERNAME and _PASSWORD for users)",
            }
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers.append((b"www-authenticate", f'{kind} realm="shipyard"'.encode()))
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


__all__ = ["AuthMiddleware", "OPEN_PATHS", "TOKEN_COOKIE", "read_tokens", "read_users"]
