import mppay.wechatpay.v2 as v2


def test_the_v2_public_surface_is_pinned() -> None:
    assert sorted(v2.__all__) == [
        "ACK_SUCCESS",
        "BEIJING",
        "DEFAULT_MAX_BYTES",
        "RecipientMismatchError",
        "SignType",
        "UnifiedOrderRequest",
        "UnifiedOrderResult",
        "V2Order",
        "V2PaymentNotification",
        "V2RefundNotification",
        "V2RefundQueryResult",
        "V2RefundRecord",
        "V2RefundRequest",
        "V2RefundResult",
        "WeChatPayV2Client",
        "ack_fail",
        "build_xml",
        "decrypt_req_info",
        "parse_payment_notification",
        "parse_refund_notification",
        "parse_xml",
        "read_response",
        "req_info_key",
        "sign",
        "sign_string",
        "signed_request_fields",
        "verify_sign",
    ]
    for name in v2.__all__:
        assert getattr(v2, name) is not None
