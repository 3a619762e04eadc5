"""A Mini Program user and an operator, driving the real stack over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from mppay.runner import Stack


@dataclass
class User:
    openid: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Shop:
    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = http
        self.api = stack.service_url
        assert stack.emulator_url is not None
        self.emu = stack.emulator_url
        self.settings = stack.service.settings

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.admin_token}"}

    @property
    def mchid(self) -> str:
        assert self.settings.mchid is not None
        return self.settings.mchid

    async def login(self, openid: str | None = None) -> User:
        # Without an openid the emulator answers with its one default sandbox user.
        body = {
            "appid": str(self.settings.appid),
            "openid": openid or f"oTEST{uuid.uuid4().hex[:23]}",
        }
        code = (await self.http.post(f"{self.emu}/sandbox/login", json=body)).json()
        response = await self.http.post(f"{self.api}/api/login", json={"code": code["code"]})
        assert response.status_code == 200, response.text
        return User(code["openid"], response.json()["token"])

    async def create_order(
        self, user: User, items: list[dict[str, Any]] | None = None, *, key: str | None = None
    ) -> dict[str, Any]:
        headers = {**user.headers, "Idempotency-Key": key or uuid.uuid4().hex}
        response = await self.http.post(
            f"{self.api}/api/orders",
            json={"items": items or [{"product_id": "latte", "quantity": 1}]},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def pay(self, user: User, order_id: str) -> dict[str, str]:
        response = await self.http.post(
            f"{self.api}/api/orders/{order_id}/pay", headers=user.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json()["params"])

    async def request_payment(
        self, user: User, params: dict[str, str], action: str = "confirm"
    ) -> str:
        """What the WeChat client does with the params: the cashier, then the callback errMsg."""
        body = {**params, "appId": self.settings.appid, "openid": user.openid, "action": action}
        response = await self.http.post(f"{self.emu}/sandbox/requestPayment", json=body)
        return str(response.json()["errMsg"])

    async def order(self, user: User, order_id: str, *, refresh: bool = False) -> dict[str, Any]:
        response = await self.http.get(
            f"{self.api}/api/orders/{order_id}",
            params={"refresh": "true"} if refresh else None,
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def wait_for(
        self, user: User, order_id: str, status: str, *, seconds: float = 8
    ) -> dict[str, Any]:
        order: dict[str, Any] = {}
        for _ in range(int(seconds / 0.05)):
            order = await self.order(user, order_id)
            if order["status"] == status:
                return order
            await asyncio.sleep(0.05)
        raise AssertionError(f"order {order_id} stayed {order.get('status')}, expected {status}")

    async def paid_order(
        self, user: User, items: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        order = await self.create_order(user, items)
        params = await self.pay(user, order["id"])
        assert await self.request_payment(user, params) == "requestPayment:ok"
        return await self.wait_for(user, order["id"], "PAID")

    async def refund(self, order_id: str, amount_fen: int) -> httpx.Response:
        return await self.http.post(
            f"{self.api}/admin/api/orders/{order_id}/refunds",
            json={"amount_fen": amount_fen, "reason": "test"},
            headers=self.admin,
        )

    async def dossier(self, order_id: str) -> dict[str, Any]:
        response = await self.http.get(
            f"{self.api}/admin/api/orders/{order_id}", headers=self.admin
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def faults(self, **settings: Any) -> None:
        response = await self.http.put(f"{self.emu}/sandbox/faults", json=settings)
        assert response.status_code == 200, response.text

    async def deliveries(self) -> list[dict[str, Any]]:
        return list((await self.http.get(f"{self.emu}/sandbox/notifications")).json()["data"])
