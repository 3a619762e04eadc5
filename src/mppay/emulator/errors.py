"""How the emulator says no.

```
Exception
 +-- BusinessError   a rule of WeChat Pay refused the operation (protocol-neutral ``kind``);
 |                   v3 and v2 map each kind to their own status / code / text
 +-- V3Error         a v3 answer: HTTP status + {"code", "message", "detail"?}
 +-- V2Fail          a v2 protocol failure: return_code FAIL + return_msg (unsigned)
 +-- V2BizError      a v2 business failure: result_code FAIL + err_code + err_code_des (signed)
 +-- BodyTooLarge    the request body passed MAX_BODY_BYTES
```
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_BODY_BYTES",
    "BodyTooLarge",
    "BusinessError",
    "V2BizError",
    "V2Fail",
    "V3Error",
]

# WeChat's bodies are small JSON/XML; anything past 1 MiB is refused with 413 before parsing.
MAX_BODY_BYTES = 1024 * 1024


class BusinessError(Exception):
    """A business rule said no. ``kind`` is one of the names in ``payments.KINDS``."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class V3Error(Exception):
    def __init__(
        self, status: int, code: str, message: str, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


class V2Fail(Exception):
    """``extra`` holds additional unsigned fields (downloadbill adds ``error_code``)."""

    def __init__(self, return_msg: str, **extra: str) -> None:
        super().__init__(return_msg)
        self.return_msg = return_msg
        self.extra = extra


class V2BizError(Exception):
    def __init__(self, err_code: str, err_code_des: str) -> None:
        super().__init__(f"{err_code} {err_code_des}")
        self.err_code = err_code
        self.err_code_des = err_code_des


class BodyTooLarge(Exception):
    """Raised while reading a body longer than ``MAX_BODY_BYTES``."""
