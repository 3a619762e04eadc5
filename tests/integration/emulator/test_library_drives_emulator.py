"""The project's own client library (mppay.wechatpay) drives the emulator over loopback HTTP.

The two sides share no protocol code; agreeing here means both read the spec the same way.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from mppay.emulator import Emulator
from mppay.wechatpay.config import MerchantConfig
from mppay.wechatpay.errors import (
    ApiError,
    InvalidCodeError,
    InvalidCredentialError,
    OrderClosedError,
    OrderNotFoundError,
    OutTradeNoUsedError,
    ResourceNotFoundError,
    ServerError,
    TransportError,
)
from mppay.wechatpay.login import MiniProgramLoginClient
from mppay.wechatpay.v2.client import WeChatPayV2Client
from mppay.wechatpay.v2.models import UnifiedOrderRequest, V2RefundRequest
from mppay.wechatpay.v3.client import WeChatPayV3Client
from mppay.wechatpay.v3.models import (
    Amount,
    JsapiPrepayRequest,
    Payer,
    RefundAmountRequest,
    RefundRequest,
)
from mppay.wechatpay.v3.notifications import RefundEvent, TransactionEvent

from .flows import new_no
from .harness import NotifyReceiver

Server = tuple[Emulator, str]
Receiver = tuple[NotifyReceiver, str]


def config_for(
    merchant: dict[str, Any], base_url: str, *, public_key: bool = True
) -> MerchantConfig:
    return MerchantConfig.from_pem(
        mchid=merchant["mchid"],
        appid=merchant["appid"],
        merchant_serial_no=merchant["merchant_serial_no"],
        merchant_private_key_pem=merchant["merchant_private_key_pem"],
        api_v3_key=merchant["api_v3_key"],
        api_v2_key=merchant["api_v2_key"],
        base_url=base_url,
        wechatpay_public_key_pem=merchant["wechatpay_public_key_pem"] if public_key else None,
        wechatpay_public_key_id=merchant["wechatpay_public_key_id"] if public_key else None,
    )


async def sandbox(base_url: str, method: str, path: str, **kwargs: Any) -> Any:
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
        response = await http.request(method, path, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()


async def new_merchant(base_url: str, key_mode: str = "public_key") -> dict[str, Any]:
    return dict(await sandbox(base_url, "POST", "/sandbox/merchants", json={"key_mode": key_mode}))


async def openid_of(base_url: str, merchant: dict[str, Any]) -> str:
    return str(
        (await sandbox(base_url, "POST", "/sandbox/login", json={"appid": merchant["appid"]}))[
            "openid"
        ]
    )


def jsapi(out_trade_no: str, openid: str, notify_url: str, total: int = 100) -> JsapiPrepayRequest:
    return JsapiPrepayRequest(
        description="库驱动测试",
        out_trade_no=out_trade_no,
        notify_url=notify_url,
        amount=Amount(total=total),
        payer=Payer(openid=openid),
    )


async def pay(base_url: str, params: dict[str, str], openid: str) -> str:
    answer = await sandbox(
        base_url, "POST", "/sandbox/requestPayment", json={**params, "openid": openid}
    )
    return str(answer["errMsg"])


async def business_day(base_url: str) -> date:
    now = (await sandbox(base_url, "POST", "/sandbox/clock", json={"advance_seconds": 0}))["now"]
    return datetime.fromisoformat(now).date()


async def test_the_v3_client_orders_pays_queries_closes_and_refunds_with_a_public_key_merchant(
    emulator_server: Server, receiver: Receiver
) -> None:
    _, base = emulator_server
    notify, notify_base = receiver
    merchant = await new_merchant(base)
    openid = await openid_of(base, merchant)
    async with WeChatPayV3Client(config_for(merchant, base)) as client:
        out_trade_no = new_no("L")
        prepay = await client.prepay_jsapi(jsapi(out_trade_no, openid, f"{notify_base}/lib/v3"))
        assert (await client.query_order_by_out_trade_no(out_trade_no)).trade_state == "NOTPAY"
        params = client.request_payment_params(prepay.prepay_id).to_dict(include_app_id=True)
        assert await pay(base, params, openid) == "requestPayment:ok"
        paid = await client.query_order_by_out_trade_no(out_trade_no)
        assert paid.trade_state == "SUCCESS"
        assert paid.transaction_id is not None
        by_id = await client.query_order_by_transaction_id(paid.transaction_id)
        assert by_id.out_trade_no == out_trade_no
        with pytest.raises(OutTradeNoUsedError):
            await client.prepay_jsapi(jsapi(out_trade_no, openid, f"{notify_base}/lib/v3"))
        with pytest.raises(OrderNotFoundError):
            await client.query_order_by_out_trade_no("NEVER_ORDERED_L1")

        unpaid = new_no("L")
        await client.prepay_jsapi(jsapi(unpaid, openid, f"{notify_base}/lib/v3"))
        await client.close_order(unpaid)
        assert (await client.query_order_by_out_trade_no(unpaid)).trade_state == "CLOSED"
        with pytest.raises(OrderClosedError):
            await client.prepay_jsapi(jsapi(unpaid, openid, f"{notify_base}/lib/v3"))

        refund = await client.create_refund(
            RefundRequest(
                out_trade_no=out_trade_no,
                out_refund_no=new_no("LR"),
                notify_url=f"{notify_base}/lib/v3-refund",
                amount=RefundAmountRequest(refund=40, total=100),
            )
        )
        assert refund.status == "PROCESSING"
        await sandbox(base, "POST", "/sandbox/clock", json={"advance_seconds": 3})
        assert (await client.query_refund(refund.out_refund_no)).status == "SUCCESS"
        with pytest.raises(ResourceNotFoundError):
            await client.query_refund("NO_SUCH_REFUND_L")
        with pytest.raises(ResourceNotFoundError):
            await client.download_certificates()

        [payment] = notify.of("/lib/v3")
        event = await client.parse_notification(payment.headers, payment.body)
        assert isinstance(event, TransactionEvent)
        assert event.resource.out_trade_no == out_trade_no
        [refunded] = notify.of("/lib/v3-refund")
        refund_event = await client.parse_notification(refunded.headers, refunded.body)
        assert isinstance(refund_event, RefundEvent)
        assert refund_event.resource.refund_status == "SUCCESS"


async def test_the_v3_client_bootstraps_platform_certificates_from_a_certificate_merchant(
    emulator_server: Server,
) -> None:
    _, base = emulator_server
    merchant = await new_merchant(base, "certificate")
    openid = await openid_of(base, merchant)
    async with WeChatPayV3Client(config_for(merchant, base, public_key=False)) as client:
        [certificate] = await client.download_certificates()
        assert certificate.serial_no == merchant["platform_serial_no"]
        prepay = await client.prepay_jsapi(jsapi(new_no("C"), openid, "http://127.0.0.1:9/n"))
        assert prepay.prepay_id.startswith("wx")


async def test_the_v3_client_downloads_and_checks_a_trade_bill(emulator_server: Server) -> None:
    _, base = emulator_server
    merchant = await new_merchant(base)
    openid = await openid_of(base, merchant)
    async with WeChatPayV3Client(config_for(merchant, base)) as client:
        out_trade_no = new_no("B")
        prepay = await client.prepay_jsapi(jsapi(out_trade_no, openid, "http://127.0.0.1:9/n"))
        params = client.request_payment_params(prepay.prepay_id).to_dict(include_app_id=True)
        assert await pay(base, params, openid) == "requestPayment:ok"
        day = await business_day(base)
        await sandbox(base, "POST", "/sandbox/clock", json={"advance_seconds": 86400})
        for tar_type in ("GZIP", None):
            bill = await client.trade_bill(day, tar_type=tar_type)  # type: ignore[arg-type]
            content = await client.download_bill(bill)
            assert out_trade_no in content.decode()
        with pytest.raises(ApiError) as empty:
            await client.trade_bill(day - timedelta(days=1))
        assert empty.value.code == "NO_STATEMENT_EXIST"


async def test_the_v2_client_drives_every_v2_endpoint(emulator_server: Server) -> None:
    _, base = emulator_server
    merchant = await new_merchant(base)
    openid = await openid_of(base, merchant)
    async with WeChatPayV2Client(config_for(merchant, base)) as client:
        out_trade_no = new_no("W")
        order = await client.unified_order(
            UnifiedOrderRequest(
                body="v2库",
                out_trade_no=out_trade_no,
                total_fee=88,
                spbill_create_ip="127.0.0.1",
                notify_url="http://127.0.0.1:9/v2",
                openid=openid,
            )
        )
        params = client.request_payment_params(order.prepay_id).to_dict(include_app_id=True)
        assert await pay(base, params, openid) == "requestPayment:ok"
        assert (await client.order_query(out_trade_no=out_trade_no)).trade_state == "SUCCESS"
        with pytest.raises(OrderNotFoundError):
            await client.order_query(out_trade_no="NEVER_ORDERED_W1")
        refund = await client.refund(
            V2RefundRequest(
                out_trade_no=out_trade_no, out_refund_no=new_no("WR"), total_fee=88, refund_fee=8
            )
        )
        assert refund.refund_fee == 8
        queried = await client.refund_query(out_refund_no=refund.out_refund_no)
        assert queried.refunds[0].refund_id == refund.refund_id

        unpaid = new_no("W")
        await client.unified_order(
            UnifiedOrderRequest(
                body="v2库",
                out_trade_no=unpaid,
                total_fee=1,
                spbill_create_ip="127.0.0.1",
                notify_url="http://127.0.0.1:9/v2",
                openid=openid,
            )
        )
        day = await business_day(base)
        await sandbox(base, "POST", "/sandbox/clock", json={"advance_seconds": 300})
        await client.close_order(unpaid)
        assert (await client.order_query(out_trade_no=unpaid)).trade_state == "CLOSED"
        await sandbox(base, "POST", "/sandbox/clock", json={"advance_seconds": 86400})
        bill = await client.download_bill(day, tar_type="GZIP")
        assert out_trade_no in bill.decode()
        with pytest.raises(ResourceNotFoundError):
            await client.download_bill(day - timedelta(days=1))


async def test_the_login_client_exchanges_codes_and_maps_errcodes(emulator_server: Server) -> None:
    _, base = emulator_server
    merchant = await new_merchant(base)
    issued = await sandbox(base, "POST", "/sandbox/login", json={"appid": merchant["appid"]})
    async with MiniProgramLoginClient(
        merchant["appid"], merchant["app_secret"], base_url=base
    ) as client:
        session = await client.code2session(issued["code"])
        assert session.openid == issued["openid"]
        with pytest.raises(InvalidCodeError):
            await client.code2session(issued["code"])
    async with MiniProgramLoginClient(merchant["appid"], "0" * 32, base_url=base) as wrong:
        fresh = await sandbox(base, "POST", "/sandbox/login", json={"appid": merchant["appid"]})
        with pytest.raises(InvalidCredentialError):
            await wrong.code2session(fresh["code"])


async def test_the_v3_client_sees_injected_faults_as_outcome_unknown(
    emulator_server: Server,
) -> None:
    _, base = emulator_server
    merchant = await new_merchant(base)
    mchid = merchant["mchid"]
    async with WeChatPayV3Client(config_for(merchant, base), timeout=httpx.Timeout(0.3)) as client:
        try:
            for knob in ("api_system_error_rate", "api_http_503_rate", "api_http_500_rate"):
                await sandbox(base, "PUT", "/sandbox/faults", json={"mchid": mchid, knob: 1.0})
                with pytest.raises(ServerError):
                    await client.query_order_by_out_trade_no("ANY_ORDER_1")
            await sandbox(
                base,
                "PUT",
                "/sandbox/faults",
                json={"mchid": mchid, "api_timeout_rate": 1.0, "api_timeout_seconds": 1.0},
            )
            with pytest.raises(TransportError):
                await client.query_order_by_out_trade_no("ANY_ORDER_1")
        finally:
            await sandbox(base, "DELETE", "/sandbox/faults", params={"mchid": mchid})
