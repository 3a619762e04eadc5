"""One check's verdict: what was looked at, what was found, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CheckResult", "Status", "failed", "passed", "skipped"]

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """``name`` is a stable identifier for scripts (``--json``); ``title`` is for people.

    ``skip`` means the check does not apply to this configuration (it never blocks going live);
    ``fix`` is set on every failure and says what to change, naming the variable.
    """

    name: str
    title: str
    status: Status
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_json(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }


def passed(name: str, title: str, detail: str) -> CheckResult:
    return CheckResult(name, title, "pass", detail)


def failed(name: str, title: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, title, "fail", detail, fix)


def skipped(name: str, title: str, detail: str) -> CheckResult:
    return CheckResult(name, title, "skip", detail)
