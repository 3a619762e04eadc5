import gzip
from datetime import date
from typing import Any

import httpx
import pytest

from mppay.wechatpay import MerchantConfig
from mppay.wechatpay.errors import (
    ApiError,
    ConfigurationError,
    MalformedMessageError,
    OrderNotFoundError,
    OrderPaidError,
    OutcomeUnknownError,
    ParamError,
    ResourceNotFoundError,
    ServerError,
    SignRejectedError,
    TransportError,
    UntrustedResponseError,
    WeChatPayError,
)
from mppay.wechatpay.v2 import (
    UnifiedOrderRequest,
    V2RefundRequest,
    WeChatPayV2Client,
    signed_request_fields,
)
from mppay.wechatpay.v2.signing import SignType
from tests import spec_vectors as v
from tests.unit.wechatpay_v2.fakes import (
    APPID,
    MCHID,
    NONCE,
    Handler,
    answer_with,
    failure_answer,
    fixed_clock,
    make_config,
    read_request_xml,
    recording_http,
    return_fail_answer,
    signed,
    success_answer,
    wechat_sign,
    xml_bytes,
)

BILL = v.BILL_711.encode()


def make_client(
    answer: Handler,
    seen: list[httpx.Request] | None = None,
    *,
    config: MerchantConfig | None = None,
    **kwargs: Any,
) -> WeChatPayV2Client:
    return WeChatPayV2Client(
        config or make_config(),
        http=recording_http(answer, seen if seen is not None else []),
        clock=fixed_clock(),
        nonce_factory=lambda: NONCE,
        **kwargs,
    )


def order_request() -> UnifiedOrderRequest:
    return UnifiedOrderRequest(
        body="test",
        out_trade_no="20150806125346",
        total_fee=88,
        spbill_create_ip="123.12.12.123",
        notify_url="https://www.example.com/wxpay/notify",
        openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    )


PREPAY = {"trade_type": "JSAPI", "prepay_id": "wx201410272009395522657a690389285100"}


async def test_unified_order_sends_exactly_the_signed_fields_and_returns_the_prepay_id() -> None:
    seen: list[httpx.Request] = []
    client = make_client(answer_with(success_answer(PREPAY)), seen)
    result = await client.unified_order(order_request())
    assert result.prepay_id == PREPAY["prepay_id"]
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://api.test/pay/unifiedorder"
    assert request.headers["content-type"] == "text/xml; charset=utf-8"
    sent = read_request_xml(request)
    expected = {
        "appid": APPID,
        "mch_id": MCHID,
        "nonce_str": NONCE,
        "body": "test",
        "out_trade_no": "20150806125346",
        "total_fee": "88",
        "spbill_create_ip": "123.12.12.123",
        "notify_url": "https://www.example.com/wxpay/notify",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "trade_type": "JSAPI",
        "sign_type": "HMAC-SHA256",
    }
    assert sent == {**expected, "sign": wechat_sign(expected, sign_type="HMAC-SHA256")}


async def test_an_md5_client_sends_no_sign_type_and_signs_with_md5() -> None:
    seen: list[httpx.Request] = []
    client = make_client(
        answer_with(success_answer(PREPAY, sign_type="MD5")), seen, sign_type="MD5"
    )
    await client.unified_order(order_request())
    sent = read_request_xml(seen[0])
    assert "sign_type" not in sent
    assert sent["sign"] == wechat_sign(sent, sign_type="MD5")


def test_request_signing_reproduces_the_official_md5_example() -> None:
    config = MerchantConfig(mchid="10000100", appid="wxd930ea5d5a258f4f", api_v2_key=v.V2_KEY)
    fields = signed_request_fields(
        config, {"device_info": "1000", "body": "test"}, nonce="ibuaiVcKdpRxkhJA", sign_type="MD5"
    )
    assert fields["sign"] == v.V2_MD5_72


def test_empty_business_values_are_not_sent() -> None:
    fields = signed_request_fields(
        make_config(), {"attach": "", "body": "x"}, nonce=NONCE, sign_type="MD5"
    )
    assert "attach" not in fields


@pytest.mark.parametrize(
    ("err_code", "error"),
    [
        ("ORDERPAID", OrderPaidError),
        ("ORDERNOTEXIST", OrderNotFoundError),
        ("SYSTEMERROR", ServerError),
        ("BIZERR_NEED_RETRY", ServerError),
        ("SOMETHING_NEW", ApiError),
    ],
)
async def test_result_code_fail_maps_err_code_to_its_error(
    err_code: str, error: type[WeChatPayError]
) -> None:
    client = make_client(answer_with(failure_answer(err_code, "描述")))
    with pytest.raises(error) as caught:
        await client.unified_order(order_request())
    assert type(caught.value) is error
    assert caught.value.code == err_code
    assert "描述" in str(caught.value)


async def test_a_system_error_is_an_unknown_outcome_not_a_refusal() -> None:
    client = make_client(answer_with(failure_answer("SYSTEMERROR", "系统超时")))
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.refund(refund_request())
    assert not isinstance(caught.value, ApiError)


@pytest.mark.parametrize(
    ("return_msg", "error"),
    [
        ("签名错误", SignRejectedError),
        ("错误的签名，验签失败", SignRejectedError),
        ("SIGNERROR", SignRejectedError),
        ("参数格式校验错误", ParamError),
        ("XML格式错误", ParamError),
        ("mch_id参数格式错误", ParamError),
        ("商户号mch_id与appid不匹配", ApiError),
    ],
)
async def test_return_code_fail_maps_return_msg_to_its_error(
    return_msg: str, error: type[WeChatPayError]
) -> None:
    client = make_client(answer_with(return_fail_answer(return_msg)))
    with pytest.raises(error) as caught:
        await client.order_query(out_trade_no="A1")
    assert type(caught.value) is error
    assert return_msg in str(caught.value)


async def test_a_response_with_a_bad_sign_is_untrusted() -> None:
    fields = signed({"return_code": "SUCCESS", "result_code": "SUCCESS", **PREPAY})
    fields["prepay_id"] = "wx_forged"
    client = make_client(answer_with(xml_bytes(fields)), sign_type="MD5")
    with pytest.raises(UntrustedResponseError) as caught:
        await client.unified_order(order_request())
    assert isinstance(caught.value, OutcomeUnknownError)


async def test_a_response_without_sign_is_untrusted() -> None:
    body = xml_bytes({"return_code": "SUCCESS", "result_code": "SUCCESS", **PREPAY})
    with pytest.raises(UntrustedResponseError):
        await make_client(answer_with(body)).unified_order(order_request())


async def test_a_response_signed_with_another_algorithm_than_the_request_is_untrusted() -> None:
    client = make_client(answer_with(success_answer(PREPAY, sign_type="MD5")))
    with pytest.raises(UntrustedResponseError):
        await client.unified_order(order_request())


async def test_a_business_failure_with_a_bad_sign_is_untrusted_not_a_refusal() -> None:
    body = xml_bytes(
        {"return_code": "SUCCESS", "result_code": "FAIL", "err_code": "ORDERPAID", "sign": "X"}
    )
    with pytest.raises(UntrustedResponseError):
        await make_client(answer_with(body)).close_order("A1")


async def test_a_signed_response_for_another_merchant_is_untrusted() -> None:
    body = success_answer({**PREPAY, "mch_id": "999"})
    with pytest.raises(UntrustedResponseError, match="mch_id"):
        await make_client(answer_with(body)).unified_order(order_request())


async def test_a_signed_success_without_result_code_is_malformed() -> None:
    fields = signed({"return_code": "SUCCESS", **PREPAY}, sign_type="HMAC-SHA256")
    with pytest.raises(MalformedMessageError, match="result_code"):
        await make_client(answer_with(xml_bytes(fields))).unified_order(order_request())


async def test_an_xml_bomb_response_is_untrusted() -> None:
    body = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><return_code>&a;</return_code></xml>'
    with pytest.raises(UntrustedResponseError):
        await make_client(answer_with(body)).order_query(out_trade_no="A1")


@pytest.mark.parametrize(
    ("status", "error"), [(500, ServerError), (503, ServerError), (400, ApiError)]
)
async def test_http_errors_map_by_status(status: int, error: type[WeChatPayError]) -> None:
    client = make_client(answer_with(b"<html>oops</html>", status))
    with pytest.raises(error) as caught:
        await client.order_query(out_trade_no="A1")
    assert type(caught.value) is error
    assert caught.value.status_code == status


async def test_a_timeout_is_a_transport_error() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(TransportError):
        await make_client(time_out).unified_order(order_request())


async def test_order_query_returns_the_typed_order() -> None:
    seen: list[httpx.Request] = []
    answer = success_answer(
        {
            "trade_state": "SUCCESS",
            "out_trade_no": "A1",
            "transaction_id": "4200000000202311140000000001",
            "total_fee": "88",
            "cash_fee": "88",
            "time_end": "20231114221330",
            "trade_state_desc": "支付成功",
        }
    )
    order = await make_client(answer_with(answer), seen).order_query(out_trade_no="A1")
    assert order.is_paid
    assert order.total_fee == 88
    sent = read_request_xml(seen[0])
    assert sent["out_trade_no"] == "A1"
    assert "transaction_id" not in sent
    assert seen[0].url.path == "/pay/orderquery"


async def test_order_query_refuses_an_answer_about_another_order() -> None:
    answer = success_answer({"trade_state": "NOTPAY", "out_trade_no": "B2"})
    with pytest.raises(MalformedMessageError):
        await make_client(answer_with(answer)).order_query(out_trade_no="A1")


@pytest.mark.parametrize("ids", [{}, {"out_trade_no": "A1", "transaction_id": "42"}])
async def test_order_query_needs_exactly_one_identifier(ids: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await make_client(answer_with(b"")).order_query(**ids)


async def test_close_order_returns_nothing_on_success() -> None:
    seen: list[httpx.Request] = []
    assert await make_client(answer_with(success_answer({})), seen).close_order("A1") is None
    assert seen[0].url.path == "/pay/closeorder"
    assert read_request_xml(seen[0])["out_trade_no"] == "A1"


async def test_closing_a_paid_order_is_order_paid() -> None:
    with pytest.raises(OrderPaidError):
        await make_client(answer_with(failure_answer("ORDERPAID", "订单已支付"))).close_order("A1")


def refund_request() -> V2RefundRequest:
    return V2RefundRequest(out_refund_no="R1", out_trade_no="A1", total_fee=100, refund_fee=40)


REFUND_ANSWER = {
    "transaction_id": "42",
    "out_trade_no": "A1",
    "out_refund_no": "R1",
    "refund_id": "50000",
    "refund_fee": "40",
    "total_fee": "100",
    "cash_fee": "100",
}


async def test_a_refund_goes_through_the_certificate_client_only() -> None:
    plain: list[httpx.Request] = []
    secure: list[httpx.Request] = []
    client = make_client(
        answer_with(b"must not be used", 500),
        plain,
        secapi_http=recording_http(answer_with(success_answer(REFUND_ANSWER)), secure),
    )
    result = await client.refund(refund_request())
    assert result.refund_id == "50000"
    assert plain == []
    (request,) = secure
    assert request.url.path == "/secapi/pay/refund"
    sent = read_request_xml(request)
    assert {k: sent[k] for k in ("out_refund_no", "out_trade_no", "total_fee", "refund_fee")} == {
        "out_refund_no": "R1",
        "out_trade_no": "A1",
        "total_fee": "100",
        "refund_fee": "40",
    }


async def test_without_a_certificate_client_refunds_use_the_plain_client() -> None:
    seen: list[httpx.Request] = []
    await make_client(answer_with(success_answer(REFUND_ANSWER)), seen).refund(refund_request())
    assert seen[0].url.path == "/secapi/pay/refund"


async def test_refund_query_gathers_indexed_refunds() -> None:
    seen: list[httpx.Request] = []
    answer = success_answer(
        {
            "out_trade_no": "A1",
            "total_fee": "100",
            "refund_count": "1",
            "out_refund_no_0": "R1",
            "refund_id_0": "50000",
            "refund_fee_0": "40",
            "refund_status_0": "SUCCESS",
        }
    )
    result = await make_client(answer_with(answer), seen).refund_query(out_refund_no="R1")
    assert [r.refund_fee for r in result.refunds] == [40]
    assert read_request_xml(seen[0])["out_refund_no"] == "R1"


async def test_an_unknown_refund_is_resource_not_found() -> None:
    client = make_client(answer_with(failure_answer("REFUNDNOTEXIST", "退款订单查询失败")))
    with pytest.raises(ResourceNotFoundError):
        await client.refund_query(out_trade_no="A1")


async def test_download_bill_returns_the_raw_text() -> None:
    seen: list[httpx.Request] = []
    bill = await make_client(answer_with(BILL), seen).download_bill(date(2023, 11, 14))
    assert bill == BILL
    sent = read_request_xml(seen[0])
    assert (sent["bill_date"], sent["bill_type"]) == ("20231114", "ALL")
    assert "tar_type" not in sent


async def test_download_bill_gunzips_a_gzip_bill() -> None:
    seen: list[httpx.Request] = []
    client = make_client(answer_with(gzip.compress(BILL)), seen)
    assert await client.download_bill(date(2023, 11, 14), "SUCCESS", "GZIP") == BILL
    sent = read_request_xml(seen[0])
    assert (sent["bill_type"], sent["tar_type"]) == ("SUCCESS", "GZIP")


async def test_no_bill_exist_is_resource_not_found() -> None:
    body = xml_bytes({"return_code": "FAIL", "return_msg": "No Bill Exist", "error_code": "20002"})
    with pytest.raises(ResourceNotFoundError) as caught:
        await make_client(answer_with(body)).download_bill(date(2023, 11, 14), tar_type="GZIP")
    assert caught.value.code == "20002"


async def test_other_bill_refusals_are_api_errors_with_the_error_code() -> None:
    body = xml_bytes(
        {"return_code": "FAIL", "return_msg": "invalid bill_type", "error_code": "20001"}
    )
    with pytest.raises(ApiError) as caught:
        await make_client(answer_with(body)).download_bill(date(2023, 11, 14))
    assert type(caught.value) is ApiError
    assert caught.value.code == "20001"
    assert "invalid bill_type" in str(caught.value)


async def test_a_gzip_bill_that_is_not_gzip_is_malformed() -> None:
    with pytest.raises(MalformedMessageError):
        await make_client(answer_with(BILL)).download_bill(date(2023, 11, 14), tar_type="GZIP")


async def test_a_gzip_bill_larger_than_the_limit_is_refused() -> None:
    client = make_client(answer_with(gzip.compress(b"x" * 10_000)), max_bill_bytes=1_000)
    with pytest.raises(MalformedMessageError, match="exceeds"):
        await client.download_bill(date(2023, 11, 14), tar_type="GZIP")


@pytest.mark.parametrize(
    ("sign_type", "pay_sign"), [("MD5", v.V2_PAY_MD5_73), ("HMAC-SHA256", v.V2_PAY_HMAC_73)]
)
def test_request_payment_params_reproduce_vector_7_3(sign_type: SignType, pay_sign: str) -> None:
    config = MerchantConfig(
        mchid=MCHID, appid=v.V2_PAY_PARAMS_73["appId"], api_v2_key=v.V2_PAY_KEY_73
    )
    client = WeChatPayV2Client(
        config,
        http=httpx.AsyncClient(transport=httpx.MockTransport(answer_with(b""))),
        clock=fixed_clock(int(v.V2_PAY_PARAMS_73["timeStamp"])),
        nonce_factory=lambda: v.V2_PAY_PARAMS_73["nonceStr"],
        sign_type=sign_type,
    )
    params = client.request_payment_params("wx2017033010242291fcfe0db70013231072")
    assert params.pay_sign == pay_sign
    assert params.to_dict() == {
        "timeStamp": "1490840662",
        "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "package": "prepay_id=wx2017033010242291fcfe0db70013231072",
        "signType": sign_type,
        "paySign": pay_sign,
    }


def test_a_client_without_api_v2_key_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError):
        WeChatPayV2Client(MerchantConfig(mchid=MCHID, appid=APPID))


async def test_a_client_closes_only_the_http_client_it_created() -> None:
    given = httpx.AsyncClient(transport=httpx.MockTransport(answer_with(b"")))
    async with WeChatPayV2Client(make_config(), http=given):
        pass
    assert not given.is_closed
    own = WeChatPayV2Client(make_config())
    await own.aclose()
