"""The test-only control API under ``/sandbox/`` (JSON in, JSON out; see README.md).

Errors are ``{"code", "message"}`` with 400 (bad input), 404 (unknown thing) or 409 (conflict).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .cashier import render_cashier
from .errors import BodyTooLarge, BusinessError
from .faults import FaultError
from .login import LoginError
from .scenarios import SCENARIOS, ScenarioError, run_scenario
from .wire import json_response, read_body

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["Sandbox"]

_OPTIONAL_MERCHANT_FIELDS = (
    "key_mode",
    "name",
    "refund_notify_url",
    "mchid",
    "appid",
    "app_secret",
    "api_v2_key",
    "api_v3_key",
    "merchant_serial_no",
    "merchant_private_key_pem",
    "merchant_public_key_pem",
    "wechatpay_public_key_id",
    "wechatpay_private_key_pem",
    "platform_private_key_pem",
)


class SandboxError(Exception):
    def __init__(self, status: int, message: str, code: str = "INVALID_REQUEST") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, message: str, code: str = "INVALID_REQUEST") -> Response:
    return json_response({"code": code, "message": message}, status)


async def _json_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    try:
        raw = await read_body(request)
    except BodyTooLarge:
        raise SandboxError(413, "body too large") from None
    if not raw.strip():
        if required:
            raise SandboxError(400, "a JSON object body is required")
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise SandboxError(400, f"invalid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise SandboxError(400, "the body must be a JSON object")
    return parsed


def _string(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise SandboxError(400, f"{name} must be a non-empty string")
    return value


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise SandboxError(400, f"{name} must be a non-empty string")
    return value


class Sandbox:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def routes(self) -> list[Route]:
        def route(path: str, endpoint: Any, methods: list[str]) -> Route:
            async def guarded(request: Request) -> Response:
                try:
                    response: Response = await endpoint(request)
                except SandboxError as exc:
                    return _error(exc.status, exc.message, exc.code)
                finally:
                    if request.method != "GET":
                        self.emu.touch()
                return response

            return Route(path, guarded, methods=methods)

        return [
            route("/sandbox/merchants", self.create_merchant, ["POST"]),
            route("/sandbox/merchants", self.list_merchants, ["GET"]),
            route("/sandbox/merchants/{mchid}", self.get_merchant, ["GET"]),
            route("/sandbox/login", self.login, ["POST"]),
            route("/sandbox/requestPayment", self.request_payment, ["POST"]),
            route("/sandbox/cashier", self.cashier_page, ["GET"]),
            route("/sandbox/cashier/info", self.cashier_info, ["GET"]),
            route("/sandbox/cashier/check", self.cashier_check, ["POST"]),
            route("/sandbox/notifications", self.notifications, ["GET"]),
            route("/sandbox/notifications/send", self.send_notification, ["POST"]),
            route("/sandbox/faults", self.faults, ["GET", "PUT", "DELETE"]),
            route("/sandbox/clock", self.clock, ["GET", "POST"]),
            route("/sandbox/refunds/{out_refund_no}/complete", self.complete_refund, ["POST"]),
            route("/sandbox/orders/{out_trade_no}/pay", self.pay, ["POST"]),
            route("/sandbox/scenarios", self.scenarios, ["GET"]),
            route("/sandbox/scenarios/{name}", self.scenario, ["POST"]),
        ]

    async def create_merchant(self, request: Request) -> Response:
        body = await _json_body(request, required=False)
        unknown = sorted(set(body) - set(_OPTIONAL_MERCHANT_FIELDS))
        if unknown:
            raise SandboxError(400, f"unknown fields: {', '.join(unknown)}")
        for name, value in body.items():
            if value is not None and not isinstance(value, str):
                raise SandboxError(400, f"{name} must be a string")
        try:
            created = self.emu.create_merchant(**{k: v for k, v in body.items() if v is not None})
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from None
        return json_response(created, 201)

    async def list_merchants(self, request: Request) -> Response:
        return json_response({"data": self.emu.merchants()})

    async def get_merchant(self, request: Request) -> Response:
        found = self.emu.merchant(request.path_params["mchid"])
        if found is None:
            raise SandboxError(404, "no such merchant", "NOT_FOUND")
        return json_response(found)

    async def login(self, request: Request) -> Response:
        body = await _json_body(request)
        appid = _required(body, "appid")
        openid = _string(body, "openid", required=False)
        blocked = body.get("blocked", False)
        if not isinstance(blocked, bool):
            raise SandboxError(400, "blocked must be true or false")
        try:
            return json_response(self.emu.login_code(appid, openid, blocked=blocked))
        except LoginError as exc:
            raise SandboxError(400, str(exc)) from None

    async def request_payment(self, request: Request) -> Response:
        try:
            body = await _json_body(request)
        except SandboxError as exc:
            return json_response({"errMsg": f"requestPayment:fail {exc.message}"}, exc.status)
        try:
            return json_response(self.emu.request_payment(body))
        except ValueError as exc:
            return json_response({"errMsg": f"requestPayment:fail {exc}"}, 400)

    async def cashier_page(self, request: Request) -> Response:
        query = dict(request.query_params)
        params: dict[str, Any] | None = query or None
        info = self.emu.cashier.info(query["package"]) if "package" in query else None
        return HTMLResponse(
            render_cashier(params, info),
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )

    async def cashier_info(self, request: Request) -> Response:
        found = self.emu.cashier.info(request.query_params.get("package", ""))
        if found is None:
            raise SandboxError(404, "no such prepay_id", "NOT_FOUND")
        return json_response(found)

    async def cashier_check(self, request: Request) -> Response:
        """``{"errMsg": null}`` when the sheet may open, else the refusal WeChat would show."""
        body = await _json_body(request)
        return json_response({"errMsg": self.emu.cashier.check(body)})

    async def notifications(self, request: Request) -> Response:
        try:
            attempts = self.emu.deliveries(**dict(request.query_params))
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from None
        return json_response({"data": attempts, "outbox": self.emu.outbox()})

    async def send_notification(self, request: Request) -> Response:
        body = await _json_body(request)
        overrides = body.get("resource_overrides")
        if overrides is not None and not isinstance(overrides, dict):
            raise SandboxError(400, "resource_overrides must be an object")
        mchid = _required(body, "mchid")
        event_type = _required(body, "event_type")
        try:
            attempt = await self.emu.send_notification(
                mchid,
                event_type=event_type,
                out_trade_no=_string(body, "out_trade_no", required=False),
                out_refund_no=_string(body, "out_refund_no", required=False),
                resource_overrides=overrides,
                url=_string(body, "url", required=False),
                api=_string(body, "api", required=False),
            )
        except LookupError as exc:
            raise SandboxError(404, str(exc.args[0]), "NOT_FOUND") from None
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from None
        return json_response(attempt)

    async def faults(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(self.emu.faults.to_json())
        if request.method == "DELETE":
            return json_response(self.emu.clear_faults(request.query_params.get("mchid")))
        body = await _json_body(request)
        try:
            return json_response(self.emu.set_faults(body))
        except FaultError as exc:
            raise SandboxError(400, str(exc)) from None
        except LookupError as exc:
            raise SandboxError(404, str(exc.args[0]), "NOT_FOUND") from None

    async def clock(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(self.emu.clock_json())
        body = await _json_body(request)
        seconds = body.get("advance_seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise SandboxError(400, "advance_seconds must be a number >= 0")
        self.emu.advance_clock(seconds)
        # Answer after the due work ran (time-driven state changes, then every due delivery),
        # so a test sees its consequences right away.
        self.emu.tick()
        delivered = await self.emu.deliver_due()
        return json_response({**self.emu.clock_json(), "delivered": delivered})

    async def complete_refund(self, request: Request) -> Response:
        body = await _json_body(request, required=False)
        # "status" (also accepted as "outcome"); without one the refund succeeds.
        status = body.get("status", body.get("outcome", "SUCCESS"))
        if status not in ("SUCCESS", "CLOSED", "ABNORMAL"):
            raise SandboxError(400, "status must be SUCCESS, CLOSED or ABNORMAL")
        mchid = _string(body, "mchid", required=False)
        try:
            refund = self.emu.complete_refund(
                request.path_params["out_refund_no"], status, mchid=mchid
            )
        except LookupError as exc:
            raise SandboxError(404, str(exc.args[0]), "NOT_FOUND") from None
        except BusinessError as exc:
            raise SandboxError(409, exc.message, "CONFLICT") from None
        self.emu.kick()
        return json_response(refund)

    async def pay(self, request: Request) -> Response:
        body = await _json_body(request)
        mchid = _required(body, "mchid")
        openid = _string(body, "openid", required=False)
        try:
            paid = self.emu.pay(mchid, request.path_params["out_trade_no"], openid=openid)
        except BusinessError as exc:
            status = 404 if exc.kind == "ORDER_NOT_FOUND" else 409
            raise SandboxError(status, exc.message, exc.kind) from None
        return json_response(paid)

    async def scenarios(self, request: Request) -> Response:
        listed = [
            {"name": s.name, "subject": s.subject, "summary": s.summary} for s in SCENARIOS.values()
        ]
        return json_response({"data": listed})

    async def scenario(self, request: Request) -> Response:
        body = await _json_body(request)
        try:
            report = await run_scenario(self.emu, request.path_params["name"], body)
        except ScenarioError as exc:
            code = {400: "INVALID_REQUEST", 404: "NOT_FOUND"}.get(exc.status, "CONFLICT")
            raise SandboxError(exc.status, exc.message, code) from None
        return json_response(report)
