"""The Mini Program server API client for order-shipping management.

One sending path, ``_call``: POST JSON to ``<base>/<path>?access_token=...``, read the errcode
(``_answers.read_answer``), and on 40001/42001/40014 replace the token once (shared with
concurrent callers, see ``tokens``) and repeat the call; a second rejection is raised as
``AccessTokenRejectedError``. The access_token travels in the query string, so transport
errors are rebuilt without the httpx exception (which holds the URL) as cause.

>>> # async with MiniProgramServerClient(APPID, SECRET) as client:
>>> #     await client.upload_shipping_info(ShippingInfo(...))
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx

from mppay.wechatpay._http import send
from mppay.wechatpay.clock import Clock, SystemClock
from mppay.wechatpay.errors import AccessTokenRejectedError, MalformedMessageError, TransportError

from ._answers import read_answer
from .shipping import (
    DeliveryCompany,
    OrderKey,
    OrderListPage,
    ShippingInfo,
    ShippingOrder,
    SubOrderShipping,
    format_upload_time,
    parse_order,
)
from .tokens import DEFAULT_API_BASE_URL, StableTokenSource

__all__ = ["MiniProgramServerClient"]

_ORDER = "/wxa/sec/order"


class MiniProgramServerClient:
    """Order-shipping calls for one Mini Program (``appid`` + AppSecret).

    ``http`` is an optional ``httpx.AsyncClient`` (tests pass one on ``httpx.MockTransport``
    or ``httpx.ASGITransport``); when omitted the client makes its own and closes it in
    ``aclose()``. Errors follow ``mppay.wechatpay.errors``: 10060001 is
    ``ShippingRetryLaterError`` (upload again in about a minute), other shipping rules
    ``ShippingRefusedError``, errcode -1 / HTTP 5xx ``ServerError``, transport failures
    ``TransportError`` (both outcome unknown: an upload may have been recorded).
    """

    def __init__(
        self,
        appid: str,
        app_secret: str,
        *,
        base_url: str = DEFAULT_API_BASE_URL,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._appid = appid
        self._base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient()
        self._clock = clock or SystemClock()
        self._timeout = httpx.Timeout(timeout)
        self.tokens = StableTokenSource(
            appid, app_secret, http=self._http, base_url=base_url, clock=self._clock,
            timeout=timeout,
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"MiniProgramServerClient(appid={self._appid!r}, base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def upload_shipping_info(self, info: ShippingInfo) -> None:
        """Record (or, once, correct) the shipment of one payment."""
        await self._call(f"{_ORDER}/upload_shipping_info", info.to_dict())

    async def upload_combined_shipping_info(
        self,
        order_key: OrderKey,
        sub_orders: tuple[SubOrderShipping, ...],
        *,
        payer_openid: str,
        upload_time: datetime,
    ) -> None:
        """The shipment of a combined payment (合单支付), one entry per sub-order."""
        if not sub_orders:
            raise ValueError("a combined shipment needs at least one sub-order")
        body = {
            "order_key": order_key.to_dict(),
            "sub_orders": [sub.to_dict() for sub in sub_orders],
            "upload_time": format_upload_time(upload_time),
            "payer": {"openid": payer_openid},
        }
        await self._call(f"{_ORDER}/upload_combined_shipping_info", body)

    async def get_order(self, key: OrderKey) -> ShippingOrder:
        """The shipping state of one payment as WeChat sees it."""
        payload = await self._call(f"{_ORDER}/get_order", key.query_fields())
        return parse_order(payload.get("order"))

    async def get_order_list(
        self,
        *,
        pay_time_begin: datetime | None = None,
        pay_time_end: datetime | None = None,
        order_state: int | None = None,
        openid: str | None = None,
        last_index: str | None = None,
        page_size: int = 100,
    ) -> OrderListPage:
        """One page of payments; pass the answer's ``last_index`` for the next while ``has_more``."""
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be 1 to 100")
        body: dict[str, Any] = {"page_size": page_size}
        if pay_time_begin is not None or pay_time_end is not None:
            span: dict[str, int] = {}
            if pay_time_begin is not None:
                span["begin_time"] = int(pay_time_begin.timestamp())
            if pay_time_end is not None:
                span["end_time"] = int(pay_time_end.timestamp())
            body["pay_time_range"] = span
        if order_state is not None:
            body["order_state"] = order_state
        if openid:
            body["openid"] = openid
        if last_index:
            body["last_index"] = last_index
        payload = await self._call(f"{_ORDER}/get_order_list", body)
        raw = payload.get("order_list") or []
        if not isinstance(raw, list):
            raise MalformedMessageError("get_order_list: order_list is not a list")
        next_index = payload.get("last_index", "")
        return OrderListPage(
            orders=tuple(parse_order(item) for item in raw),
            last_index=next_index if isinstance(next_index, str) else str(next_index),
            has_more=bool(payload.get("has_more", False)),
        )

    async def notify_confirm_receive(self, key: OrderKey, received_time: datetime) -> None:
        """Tell WeChat the goods arrived (same-city delivery); WeChat reminds the buyer."""
        body = {**key.query_fields(), "received_time": int(received_time.timestamp())}
        await self._call(f"{_ORDER}/notify_confirm_receive", body)

    async def set_msg_jump_path(self, path: str) -> None:
        """The Mini Program page the shipping message of WeChat opens (``path?query``)."""
        await self._call(f"{_ORDER}/set_msg_jump_path", {"path": path})

    async def is_trade_managed(self) -> bool:
        """Whether this appid is under order-shipping management (money frozen until shipped)."""
        payload = await self._call(f"{_ORDER}/is_trade_managed", {"appid": self._appid})
        return _flag(payload, "is_trade_managed")

    async def is_trade_management_confirmation_completed(self) -> bool:
        """Whether the appid completed the 确认收货 jump configuration."""
        path = f"{_ORDER}/is_trade_management_confirmation_completed"
        return _flag(await self._call(path, {"appid": self._appid}), "completed")

    async def get_delivery_list(self) -> tuple[DeliveryCompany, ...]:
        """Express companies and their ``delivery_id`` (the ``express_company`` to upload)."""
        payload = await self._call("/cgi-bin/express/delivery/open_msg/get_delivery_list", {})
        raw = payload.get("delivery_list") or []
        if not isinstance(raw, list):
            raise MalformedMessageError("get_delivery_list: delivery_list is not a list")
        out = []
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("delivery_id"), str):
                raise MalformedMessageError("get_delivery_list: an entry has no delivery_id")
            out.append(DeliveryCompany(item["delivery_id"], str(item.get("delivery_name", ""))))
        return tuple(out)

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = await self.tokens.token()
        try:
            return await self._post(path, body, token)
        except AccessTokenRejectedError:
            fresh = await self.tokens.replace(token)
        return await self._post(path, body, fresh)

    async def _post(self, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        request = self._http.build_request(
            "POST",
            f"{self._base_url}{path}",
            params={"access_token": token},
            json=body,
            timeout=self._timeout,
        )
        failure: TransportError | None = None
        try:
            response = await send(self._http, request)
        except TransportError as exc:
            failure = TransportError(exc.message)
        if failure is not None:
            raise failure
        return read_answer(path, response.status_code, response.content)


def _flag(payload: dict[str, Any], name: str) -> bool:
    value = payload.get(name)
    if not isinstance(value, bool):
        raise MalformedMessageError(f"{name} is not a boolean")
    return value
