"""What a use case can answer besides success. The web edge maps each class to one HTTP status.

Every error has a stable machine-readable ``code`` (documented in the README's error table)
and a message for humans that never contains secrets.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "Unauthenticated",
    "UpstreamRefused",
    "UpstreamUnavailable",
    "UseCaseError",
]


class UseCaseError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidInput(UseCaseError):
    """The request is well-formed but cannot be carried out as asked (422)."""


class Unauthenticated(UseCaseError):
    """Missing, expired or revoked credentials, or a rejected login code (401)."""


class Forbidden(UseCaseError):
    """Authenticated but not allowed (403)."""


class NotFound(UseCaseError):
    """No such resource, or not yours: the two are indistinguishable on purpose (404)."""


class Conflict(UseCaseError):
    """The resource's state forbids the action (paid, closed, refund too large...) (409)."""


class UpstreamRefused(UseCaseError):
    """WeChat definitely refused a call for a reason that is not the caller's (502)."""


class UpstreamUnavailable(UseCaseError):
    """WeChat did not answer usably; the outcome is unknown and the action is safe to retry (503)."""
