import pytest

from mppay.wechatpay.errors import MalformedMessageError
from mppay.wechatpay.tradebill import TradeBillParser

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)
PAYMENT = (
    "`2022-03-21 13:51:31,`wxfdc955f7104ad557,`180023671,`176531292,`,`420000612032130748613220688,"
    "`2021WERUN1647840687637,`oZWaCKXip5njeEiloC4oeOV1TTsk,`JSAPI,`SUCCESS,`OTHERS,`CNY,`19.90,`0.00,`0,`0,"
    "`0.00,`0.00,`,`,`微信云托管支付测试,`,`0.00000,`0.90%,`19.90,`0.00,`"
)
REFUND = (
    "`2022-03-21 14:00:00,`wxfdc955f7104ad557,`180023671,`176531292,`,`420000612032130748613220688,"
    "`2021WERUN1647840687637,`oZWaCKXip5njeEiloC4oeOV1TTsk,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,"
    "`50300000000000000001,`RF1,`5.00,`0.00,`ORIGINAL,`SUCCESS,`微信云托管支付测试,`,`0.00000,`0.90%,`0.00,`5.00,`"
)
SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`2,`19.90,`5.00,`0.00,`0.00000,`19.90,`5.00\r\n"


def bill() -> bytes:
    return (f"{HEADER}\r\n{PAYMENT}\r\n{REFUND}\r\n{SUMMARY}").encode()


@pytest.mark.parametrize("chunk", [1, 7, 64, 100_000])
def test_a_bill_parses_into_fen_whatever_the_chunk_size(chunk: int) -> None:
    parser = TradeBillParser()
    data = bill()
    records = [r for i in range(0, len(data), chunk) for r in parser.feed(data[i : i + chunk])]
    summary = parser.finish()
    payment, refund = records
    assert payment.total_fen == 1990
    assert not payment.is_refund
    assert payment.out_refund_no == ""
    assert payment.trade_time.isoformat() == "2022-03-21T13:51:31+08:00"
    assert refund.is_refund
    assert (refund.out_refund_no, refund.refund_fen, refund.refund_status) == (
        "RF1",
        500,
        "SUCCESS",
    )
    assert (summary.trade_count, summary.settlement_total_fen, summary.refund_total_fen) == (
        2,
        1990,
        500,
    )


def test_a_truncated_bill_is_refused() -> None:
    parser = TradeBillParser()
    list(parser.feed(f"{HEADER}\r\n{PAYMENT}\r\n".encode()))
    with pytest.raises(MalformedMessageError, match="summary"):
        parser.finish()


def test_an_amount_with_three_decimals_is_refused() -> None:
    parser = TradeBillParser()
    with pytest.raises(MalformedMessageError, match="amount"):
        list(
            parser.feed(
                f"{HEADER}\r\n{PAYMENT.replace('`19.90,`0.00,`0', '`19.901,`0.00,`0', 1)}\r\n".encode()
            )
        )
