import base64
from datetime import datetime

import pytest

from mppay.wechatpay import MerchantConfig
from mppay.wechatpay.errors import (
    ConfigurationError,
    DecryptionError,
    MalformedMessageError,
    MissingHeaderError,
    SignatureMismatchError,
    VerificationError,
    XmlForbiddenError,
)
from mppay.wechatpay.v2.models import BEIJING
from mppay.wechatpay.v2.notifications import (
    ACK_SUCCESS,
    RecipientMismatchError,
    ack_fail,
    parse_payment_notification,
    parse_refund_notification,
)
from mppay.wechatpay.v2.xml import parse_xml
from tests import spec_vectors as v
from tests.unit.wechatpay_v2.fakes import APPID, MCHID, make_config, signed, xml_bytes


def payment_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": APPID,
        "mch_id": MCHID,
        "nonce_str": "5d2b6c2a8db53831f7eda20af46e531c",
        "result_code": "SUCCESS",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "is_subscribe": "N",
        "trade_type": "JSAPI",
        "bank_type": "OTHERS",
        "total_fee": "100",
        "cash_fee": "100",
        "fee_type": "CNY",
        "transaction_id": "4200000000202311140000000001",
        "out_trade_no": "1217752501201407033233368018",
        "attach": "",
        "time_end": "20231114221330",
        "coupon_count": "0",
    }
    fields.update(overrides)
    return fields


def refund_notification_body(**overrides: str) -> bytes:
    fields = {
        "return_code": "SUCCESS",
        "appid": APPID,
        "mch_id": MCHID,
        "nonce_str": "TeqClE3i0mvn3DrK",
        "req_info": v.V2_REQ_INFO_710,
    }
    fields.update(overrides)
    return xml_bytes(fields)


def test_an_md5_payment_notification_without_sign_type_is_accepted() -> None:
    notification = parse_payment_notification(
        xml_bytes(signed(payment_fields())), config=make_config()
    )
    assert notification.is_paid
    assert notification.out_trade_no == "1217752501201407033233368018"
    assert notification.total_fee == 100
    assert notification.time_end == datetime(2023, 11, 14, 22, 13, 30, tzinfo=BEIJING)


def test_an_hmac_payment_notification_is_verified_with_its_own_sign_type() -> None:
    fields = payment_fields(sign_type="HMAC-SHA256")
    body = xml_bytes(signed(fields, sign_type="HMAC-SHA256"))
    notification = parse_payment_notification(body, config=make_config())
    assert notification.is_paid
    assert notification.sign_type == "HMAC-SHA256"


def test_a_tampered_amount_fails_verification() -> None:
    fields = signed(payment_fields())
    fields["total_fee"] = "1"
    with pytest.raises(SignatureMismatchError):
        parse_payment_notification(xml_bytes(fields), config=make_config())


def test_a_notification_signed_with_another_key_fails_verification() -> None:
    body = xml_bytes(signed(payment_fields(), key="0" * 32))
    with pytest.raises(SignatureMismatchError):
        parse_payment_notification(body, config=make_config())


def test_a_notification_without_sign_is_a_missing_header_error() -> None:
    with pytest.raises(MissingHeaderError):
        parse_payment_notification(xml_bytes(payment_fields()), config=make_config())


@pytest.mark.parametrize(("field", "value"), [("appid", "wx0000000000000000"), ("mch_id", "999")])
def test_a_correctly_signed_notification_for_another_recipient_is_refused(
    field: str, value: str
) -> None:
    body = xml_bytes(signed(payment_fields(**{field: value})))
    with pytest.raises(RecipientMismatchError) as caught:
        parse_payment_notification(body, config=make_config())
    assert isinstance(caught.value, VerificationError)
    assert value in str(caught.value)


def test_the_signature_is_checked_before_the_recipient() -> None:
    unsigned_foreign = payment_fields(appid="wx0000000000000000", sign="0" * 32)
    with pytest.raises(SignatureMismatchError):
        parse_payment_notification(xml_bytes(unsigned_foreign), config=make_config())


def test_a_return_code_fail_notification_is_malformed() -> None:
    body = xml_bytes({"return_code": "FAIL", "return_msg": "whatever"})
    with pytest.raises(MalformedMessageError, match="return_code"):
        parse_payment_notification(body, config=make_config())


def test_a_failed_payment_notification_is_returned_but_not_paid() -> None:
    fields = payment_fields(result_code="FAIL", err_code="BANKERROR", err_code_des="银行异常")
    notification = parse_payment_notification(xml_bytes(signed(fields)), config=make_config())
    assert not notification.is_paid
    assert notification.err_code == "BANKERROR"


def test_a_signed_notification_with_a_decimal_amount_is_malformed() -> None:
    body = xml_bytes(signed(payment_fields(total_fee="1.00")))
    with pytest.raises(MalformedMessageError, match="total_fee"):
        parse_payment_notification(body, config=make_config())


def test_an_xxe_notification_is_refused_before_anything_else() -> None:
    body = (
        b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<xml><return_code>&x;</return_code></xml>"
    )
    with pytest.raises(XmlForbiddenError):
        parse_payment_notification(body, config=make_config())


def test_a_config_without_api_v2_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        parse_payment_notification(
            xml_bytes(signed(payment_fields())), config=MerchantConfig(mchid=MCHID, appid=APPID)
        )


def test_the_vector_7_10_refund_notification_decrypts_into_typed_fields() -> None:
    notification = parse_refund_notification(refund_notification_body(), config=make_config())
    assert notification.appid == APPID
    assert notification.mch_id == MCHID
    assert notification.out_refund_no == "131811191610442717309"
    assert notification.out_trade_no == "71106718111915575302817"
    assert notification.refund_id == "50000408942018111907145868882"
    assert notification.transaction_id == "4200000215201811190261405420"
    assert notification.refund_fee == 3960
    assert notification.total_fee == 3960
    assert notification.settlement_refund_fee == 3960
    assert notification.refund_status == "SUCCESS"
    assert notification.is_success
    assert notification.success_time == datetime(2018, 11, 19, 16, 24, 13, tzinfo=BEIJING)
    assert notification.refund_recv_accout == "支付用户零钱"
    assert notification.refund_recv_account == "支付用户零钱"
    assert notification.refund_account == "REFUND_SOURCE_RECHARGE_FUNDS"
    assert notification.refund_request_source == "API"


def test_a_refund_notification_for_another_merchant_is_refused() -> None:
    with pytest.raises(RecipientMismatchError):
        parse_refund_notification(refund_notification_body(mch_id="999"), config=make_config())


def test_a_refund_notification_under_another_key_does_not_decrypt() -> None:
    with pytest.raises(DecryptionError):
        parse_refund_notification(
            refund_notification_body(), config=make_config(api_v2_key="0" * 32)
        )


def test_a_refund_notification_without_req_info_is_malformed() -> None:
    with pytest.raises(MalformedMessageError, match="req_info"):
        parse_refund_notification(refund_notification_body(req_info=""), config=make_config())


def test_a_refund_notification_with_return_code_fail_is_malformed() -> None:
    with pytest.raises(MalformedMessageError):
        parse_refund_notification(
            refund_notification_body(return_code="FAIL"), config=make_config()
        )


def test_a_tampered_req_info_that_still_unpads_is_a_decryption_error() -> None:
    raw = bytearray(base64.b64decode(v.V2_REQ_INFO_710))
    raw[20] ^= 0x01  # garbles the second block only; ECB keeps the padding intact
    body = refund_notification_body(req_info=base64.b64encode(bytes(raw)).decode())
    with pytest.raises(DecryptionError):
        parse_refund_notification(body, config=make_config())


def test_the_success_acknowledgement_is_exactly_what_wechat_expects() -> None:
    assert ACK_SUCCESS == (
        b"<xml><return_code><![CDATA[SUCCESS]]></return_code>"
        b"<return_msg><![CDATA[OK]]></return_msg></xml>"
    )


def test_a_failure_acknowledgement_asks_for_redelivery() -> None:
    assert parse_xml(ack_fail("签名失败")) == {"return_code": "FAIL", "return_msg": "签名失败"}
    assert parse_xml(ack_fail("")) == {"return_code": "FAIL", "return_msg": "FAIL"}
