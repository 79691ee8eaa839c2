"""Shipyard's exception tree and the one table that maps error codes to HTTP statuses.

    ShipyardError                      INTERNAL_ERROR            500
    ├── InvalidInput                   INVALID_PARAMETER_VALUE   400  a caller passed a bad value
    │   ├── SchemaEnforcementError     BAD_REQUEST               400  input does not match a signature
    │   ├── ArtifactPathError          INVALID_PARAMETER_VALUE   400  a path escapes its root
    │   ├── RequestTooLarge            REQUEST_TOO_LARGE         413
    │   └── UnsupportedMediaType       UNSUPPORTED_MEDIA_TYPE    415  a Content-Type the endpoint does not speak
    ├── ResourceNotFound               RESOURCE_DOES_NOT_EXIST   404
    ├── AlreadyExists                  RESOURCE_ALREADY_EXISTS   400  (MLflow's status for it)
    ├── InvalidState                   INVALID_STATE             400  the thing exists but cannot do that now
    │   └── IntegrityError             DATA_LOSS                 500  stored content does not match its digest
    ├── ModelLoadError                 MODEL_LOAD_FAILED         500  a model directory cannot be loaded
    │   └── UnsafeModelRefused         PERMISSION_DENIED         403  the load policy forbids this format
    ├── Unauthenticated                UNAUTHENTICATED           401
    ├── PermissionDenied               PERMISSION_DENIED         403
    ├── PredictionFailed               INTERNAL_ERROR            500  the model raised; carries an error id
    ├── TemporarilyUnavailable         TEMPORARILY_UNAVAILABLE   503
    ├── DeadlineExceeded               DEADLINE_EXCEEDED         504
    └── EngineUnavailable              ENGINE_UNAVAILABLE        503  no Docker engine answers

Nothing here imports a web framework: servers look statuses up in `ERROR_CODE_TO_HTTP_STATUS`.
Callers branch on the class or on `error_code`, never on message text.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ShipyardError(Exception):
    """Root of every error Shipyard raises on purpose."""

    error_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """The JSON body servers answer with (MLflow's shape)."""
        return {"error_code": self.error_code, "message": self.message}

    @property
    def http_status(self) -> int:
        return http_status_for(self.error_code)


MlflowException = ShipyardError
"""MLflow's name for the root (`except shipyard.exceptions.MlflowException as e: e.error_code`).
NOTE: `error_code` is Shipyard's string code ("INVALID_PARAMETER_VALUE"), which is also the name
MLflow's proto enum gives the same error; MLflow's is the enum's int value."""


class InvalidInput(ShipyardError):
    error_code = "INVALID_PARAMETER_VALUE"


class SchemaEnforcementError(InvalidInput):
    error_code = "BAD_REQUEST"


class ArtifactPathError(InvalidInput):
    error_code = "INVALID_PARAMETER_VALUE"


class RequestTooLarge(InvalidInput):
    error_code = "REQUEST_TOO_LARGE"


class UnsupportedMediaType(InvalidInput):
    error_code = "UNSUPPORTED_MEDIA_TYPE"


class ResourceNotFound(ShipyardError):
    error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExists(ShipyardError):
    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidState(ShipyardError):
    error_code = "INVALID_STATE"


class IntegrityError(InvalidState):
    error_code = "DATA_LOSS"


class ModelLoadError(ShipyardError):
    error_code = "MODEL_LOAD_FAILED"


class UnsafeModelRefused(ModelLoadError):
    error_code = "PERMISSION_DENIED"


class Unauthenticated(ShipyardError):
    error_code = "UNAUTHENTICATED"


class PermissionDenied(ShipyardError):
    error_code = "PERMISSION_DENIED"


class PredictionFailed(ShipyardError):
    """The model itself raised while predicting; the traceback is logged under `error_id`."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, error_id: str) -> None:
        super().__init__(message)
        self.error_id = error_id

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "error_id": self.error_id}


class TemporarilyUnavailable(ShipyardError):
    error_code = "TEMPORARILY_UNAVAILABLE"


class DeadlineExceeded(ShipyardError):
    error_code = "DEADLINE_EXCEEDED"


class EngineUnavailable(ShipyardError):
    error_code = "ENGINE_UNAVAILABLE"


ERROR_CODE_TO_HTTP_STATUS: dict[str, int] = {
    "INTERNAL_ERROR": 500,
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "MALFORMED_REQUEST": 400,
    "INVALID_STATE": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_ALREADY_EXISTS": 400,
    "REQUEST_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "DATA_LOSS": 500,
    "MODEL_LOAD_FAILED": 500,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "TEMPORARILY_UNAVAILABLE": 503,
    "ENGINE_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
    "NOT_IMPLEMENTED": 501,
}


def http_status_for(error_code: str) -> int:
    """HTTP status for an error code; unknown codes are server errors."""
    return ERROR_CODE_TO_HTTP_STATUS.get(error_code, 500)


__all__ = [
    "AlreadyExists",
    "ArtifactPathError",
    "DeadlineExceeded",
    "ERROR_CODE_TO_HTTP_STATUS",
    "EngineUnavailable",
    "IntegrityError",
    "InvalidInput",
    "InvalidState",
    "MlflowException",
    "ModelLoadError",
    "PermissionDenied",
    "PredictionFailed",
    "RequestTooLarge",
    "ResourceNotFound",
    "SchemaEnforcementError",
    "ShipyardError",
    "TemporarilyUnavailable",
    "Unauthenticated",
    "UnsafeModelRefused",
    "UnsupportedMediaType",
    "http_status_for",
]
