"""Message push: vectors built here with ``cryptography`` directly, the way WeChat packs them."""

import base64
import hashlib
import json
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mppay.wechatpay.errors import (
    ConfigurationError,
    DecryptionError,
    MissingHeaderError,
    SignatureMismatchError,
)
from mppay.wechatpay.miniprogram import MessagePushVerifier

TOKEN = "mppayPushToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
APPID = "wx8888888888888888"
SETTLEMENT = {
    "ToUserName": "gh_1",
    "FromUserName": "o_system",
    "CreateTime": 1772330400,
    "MsgType": "event",
    "Event": "trade_manage_order_settlement",
    "transaction_id": "4200000001",
    "merchant_id": "1900000109",
    "merchant_trade_no": "MP1",
    "pay_time": 1772300000,
    "shipped_time": 1772310000,
    "confirm_receive_method": 2,
    "confirm_receive_time": 1772320000,
    "settlement_time": 1772330400,
}


def sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def encrypt(message: bytes, *, appid: str = APPID, key_text: str = AES_KEY) -> str:
    key = base64.b64decode(key_text + "=")
    plain = b"R" * 16 + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def signed_query(**extra: str) -> dict[str, str]:
    query = {"timestamp": "1772330400", "nonce": "n0nce"}
    query["signature"] = sha1(TOKEN, query["timestamp"], query["nonce"])
    query.update(extra)
    return query


def test_the_url_check_echoes_echostr_only_when_signed() -> None:
    verifier = MessagePushVerifier(TOKEN)
    assert verifier.check_url(signed_query(echostr="e123")) == "e123"
    # A known vector: sha1 over "1772330400" + "mppayPushToken" + "n0nce" (sorted).
    assert signed_query()["signature"] == hashlib.sha1(b"1772330400mppayPushTokenn0nce").hexdigest()
    with pytest.raises(SignatureMismatchError):
        verifier.check_url({**signed_query(echostr="e"), "nonce": "other"})
    with pytest.raises(MissingHeaderError):
        verifier.check_url({"echostr": "e", "timestamp": "1", "nonce": "n"})


def test_a_plain_json_push_is_read_when_signed() -> None:
    message = MessagePushVerifier(TOKEN).open(signed_query(), json.dumps(SETTLEMENT).encode())
    event = message.settlement()
    assert (event.transaction_id, event.confirm_receive_method, event.settled) == (
        "4200000001",
        2,
        True,
    )
    assert message.dedupe_key.startswith(
        "o_system:1772330400:trade_manage_order_settlement:4200000001:"
    )
    again = MessagePushVerifier(TOKEN).open(signed_query(), json.dumps(SETTLEMENT).encode())
    assert again.dedupe_key == message.dedupe_key
    shipped = {**SETTLEMENT, "settlement_time": None}
    other = MessagePushVerifier(TOKEN).open(signed_query(), json.dumps(shipped).encode())
    assert other.dedupe_key != message.dedupe_key


def test_a_safe_mode_json_push_is_verified_then_decrypted() -> None:
    encrypted = encrypt(json.dumps(SETTLEMENT).encode())
    query = signed_query(encrypt_type="aes")
    query["msg_signature"] = sha1(TOKEN, query["timestamp"], query["nonce"], encrypted)
    body = json.dumps({"ToUserName": "gh_1", "Encrypt": encrypted}).encode()
    verifier = MessagePushVerifier(TOKEN, encoding_aes_key=AES_KEY, appid=APPID)
    message = verifier.open(query, body)
    assert message.format == "json"
    assert message.settlement().merchant_trade_no == "MP1"


def test_a_safe_mode_xml_push_is_read() -> None:
    inner = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_system]]>"
        "</FromUserName><CreateTime>1772330400</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[trade_manage_remind_shipping]]></Event>"
        "<transaction_id><![CDATA[42]]></transaction_id><msg><![CDATA[请尽快发货]]></msg></xml>"
    ).encode()
    encrypted = encrypt(inner)
    query = signed_query(encrypt_type="aes")
    query["msg_signature"] = sha1(TOKEN, query["timestamp"], query["nonce"], encrypted)
    body = f"<xml><ToUserName>gh_1</ToUserName><Encrypt>{encrypted}</Encrypt></xml>".encode()
    message = MessagePushVerifier(TOKEN, encoding_aes_key=AES_KEY, appid=APPID).open(query, body)
    assert (message.format, message.event, message.text("msg")) == (
        "xml",
        "trade_manage_remind_shipping",
        "请尽快发货",
    )


def test_forged_pushes_are_refused() -> None:
    verifier = MessagePushVerifier(TOKEN, encoding_aes_key=AES_KEY, appid=APPID)
    body = json.dumps(SETTLEMENT).encode()
    with pytest.raises(SignatureMismatchError, match="safe mode"):
        verifier.open(signed_query(), body)  # signed, but plain while safe mode is on
    with pytest.raises(MissingHeaderError):
        verifier.open({}, body)
    encrypted = encrypt(body)
    envelope = json.dumps({"Encrypt": encrypted}).encode()
    query = signed_query(encrypt_type="aes")
    with pytest.raises(MissingHeaderError):
        verifier.open(query, envelope)
    query["msg_signature"] = sha1("wrong-token", query["timestamp"], query["nonce"], encrypted)
    with pytest.raises(SignatureMismatchError):
        verifier.open(query, envelope)
    other = encrypt(body, appid="wx0000000000000000")
    query["msg_signature"] = sha1(TOKEN, query["timestamp"], query["nonce"], other)
    with pytest.raises(DecryptionError, match="another appid"):
        verifier.open(query, json.dumps({"Encrypt": other}).encode())
    wrong_key = encrypt(body, key_text="B" * 43)
    query["msg_signature"] = sha1(TOKEN, query["timestamp"], query["nonce"], wrong_key)
    with pytest.raises(DecryptionError):
        verifier.open(query, json.dumps({"Encrypt": wrong_key}).encode())


def test_a_bad_encoding_aes_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        MessagePushVerifier(TOKEN, encoding_aes_key="short", appid=APPID)
    with pytest.raises(ConfigurationError):
        MessagePushVerifier(TOKEN, encoding_aes_key=AES_KEY)
