"""HTTP plumbing shared by the REST tracking store, the REST registry store and the artifact proxy
client: one pooled session per thread, credentials, retries with backoff, MLflow error bodies
turned back into Shipyard's exceptions.

Retried: connection errors, timeouts, 429 and 5xx (with exponential backoff and jitter). Not
retried: 4xx, which are the caller's mistake and raise the matching `ShipyardError` subclass.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import IO, Any

import orjson
import requests

from shipyard import exceptions as errors
from shipyard.redact import mask_url
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.paging import PagedList

API = "/api/2.0/mlflow"
SHIPYARD_API = "/api/2.0/shipyard"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_BY_CODE: dict[str, type[errors.ShipyardError]] = {
    "INVALID_PARAMETER_VALUE": errors.InvalidInput,
    "BAD_REQUEST": errors.InvalidInput,
    "MALFORMED_REQUEST": errors.InvalidInput,
    "REQUEST_TOO_LARGE": errors.RequestTooLarge,
    "RESOURCE_DOES_NOT_EXIST": errors.ResourceNotFound,
    "ENDPOINT_NOT_FOUND": errors.ResourceNotFound,
    "RESOURCE_ALREADY_EXISTS": errors.AlreadyExists,
    "INVALID_STATE": errors.InvalidState,
    "DATA_LOSS": errors.IntegrityError,
    "UNAUTHENTICATED": errors.Unauthenticated,
    "PERMISSION_DENIED": errors.PermissionDenied,
    "TEMPORARILY_UNAVAILABLE": errors.TemporarilyUnavailable,
}


def error_from_response(response: requests.Response, what: str) -> errors.ShipyardError:
    """The Shipyard exception an error answer stands for (its class from `error_code`)."""
    try:
        body = response.json()
        code, message = str(body.get("error_code", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", response.text[:300]
    error_class = _BY_CODE.get(code)
    if error_class is None:
        error_class = errors.ResourceNotFound if response.status_code == 404 else errors.ShipyardError
    text = message or f"{what} answered HTTP {response.status_code}"
    error = error_class(text)
    if code and error.error_code != code:
        error.error_code = code  # type: ignore[misc]
    return error


class RestClient:
    """Calls on one server, e.g. `http://tracking:5000`."""

    def __init__(self, base_url: str, settings: RestClientSettings) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            options = self.settings
            # NOTE: MLflow's order: user and password (both) win over a token.
            if options.username and options.password:
                session.auth = (options.username, options.password)
            elif options.token:
                session.headers["Authorization"] = f"Bearer {options.token}"
            elif options.username is not None:
                session.auth = (options.username, "")
            session.verify = False if options.insecure_tls else (options.server_cert_path or True)
            if options.client_cert_path is not None:
                session.cert = options.client_cert_path
            self._local.session = session
        return session

    def request(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> requests.Response:
        """One call, retried on connection errors and 429/5xx; a 4xx raises its exception."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        kwargs.setdefault("timeout", self.settings.timeout)
        attempts = self.settings.max_retries + 1 if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                if last:
                    raise errors.TemporarilyUnavailable(f"cannot reach {mask_url(self.base_url)}: {error}") from None
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES or last:
                    raise error_from_response(response, f"{method} {path}")
            self._sleep(attempt)
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int) -> None:
        delay = min(self.settings.backoff_s * (2**attempt), 30.0)
        time.sleep(delay + random.uniform(0.0, self.settings.jitter_s))

    def call(
        self, method: str, endpoint: str, body: dict[str, Any] | None = None, *, prefix: str = API
    ) -> dict[str, Any]:
        """A JSON API call: GET sends `body` as query parameters, others as a JSON body."""
        path = prefix + endpoint
        if method == "GET":
            params = {k: v for k, v in (body or {}).items() if v is not None}
            response = self.request(method, path, params=params)
        else:
            response = self.request(
                method, path, data=orjson.dumps(body or {}), headers={"Content-Type": "application/json"}
            )
        if not response.content:
            return {}
        result: dict[str, Any] = orjson.loads(response.content)
        return result

    def pages(
        self,
        method: str,
        endpoint: str,
        body: dict[str, Any],
        key: str,
        max_results: int,
        page_size: int = 1000,
        page_token: str | None = None,
    ) -> PagedList[dict[str, Any]]:
        """Follow `next_page_token` from `page_token` until `max_results` items of `key` are read
        or none are left; `.token` of the result continues where it stopped."""
        found: PagedList[dict[str, Any]] = PagedList(token=page_token)
        while len(found) < max_results:
            answer = self.call(
                method,
                endpoint,
                {**body, "max_results": min(page_size, max_results - len(found)), "page_token": found.token},
            )
            found += answer.get(key, [])
            found.token = answer.get("next_page_token") or None
            if not found.token:
                break
        return found

    def upload(self, url: str, stream: IO[bytes], size: int, progress: Callable[[int], None] | None = None) -> None:
        """PUT a file's bytes, streamed (never read whole), rewound and resent on a retry."""

        def send() -> requests.Response:
            stream.seek(0)
            body = _Reader(stream, size, progress)
            return self.session.put(
                url, data=body, timeout=self.settings.timeout, headers={"Content-Type": "application/octet-stream"}
            )

        for attempt in range(self.settings.max_retries + 1):
            last = attempt == self.settings.max_retries
            try:
                response = send()
            except (requests.ConnectionError, requests.Timeout) as error:
                if last:
                    raise errors.TemporarilyUnavailable(f"upload to {mask_url(url)} failed: {error}") from None
            else:
                if response.status_code < 400:
                    return
                if response.status_code not in RETRY_STATUSES or last:
                    raise error_from_response(response, f"PUT {mask_url(url)}")
            self._sleep(attempt)


CHUNK = 1 << 20


class _Reader:
    """A file body with a known length (so requests sends Content-Length and streams `read`s)."""

    def __init__(self, stream: IO[bytes], size: int, progress: Callable[[int], None] | None) -> None:
        self.stream, self.size, self.progress = stream, size, progress

    def __len__(self) -> int:
        return self.size

    def read(self, amount: int = -1) -> bytes:
        data = self.stream.read(CHUNK if amount is None or amount < 0 else max(amount, 65536))
        if data and self.progress is not None:
            self.progress(len(data))
        return data


__all__ = ["API", "ARTIFACTS_API", "CHUNK", "RestClient", "SHIPYARD_API", "error_from_response"]
