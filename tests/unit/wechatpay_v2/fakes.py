"""Test-only stand-ins for WeChat's v2 side, written independently of ``mppay.wechatpay.v2``.

The signer and the XML helpers here deliberately do not import the library's own signing or
XML code, so a shared mistake cannot make a test pass on both sides.
"""

from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping

import httpx

from mppay.wechatpay import FixedClock, MerchantConfig
from tests import spec_vectors as v

APPID = "wxd678efh567hg6787"
MCHID = "1230000109"
NONCE = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"


def make_config(**overrides: str) -> MerchantConfig:
    kwargs = {
        "mchid": MCHID,
        "appid": APPID,
        "api_v2_key": v.V2_KEY,
        "base_url": "https://api.test",
    }
    kwargs.update(overrides)
    return MerchantConfig(**kwargs)  # type: ignore[arg-type]


def wechat_sign(fields: Mapping[str, str], key: str = v.V2_KEY, sign_type: str = "MD5") -> str:
    """WeChat's v2 sign, written out longhand from spec 4.2."""
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] != "")
    text += f"&key={key}"
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text.encode()).hexdigest().upper()


def signed(
    fields: Mapping[str, str], key: str = v.V2_KEY, sign_type: str = "MD5"
) -> dict[str, str]:
    out = dict(fields)
    out["sign"] = wechat_sign(out, key, sign_type)
    return out


def xml_bytes(fields: Mapping[str, str], root: str = "xml") -> bytes:
    inner = "".join(f"<{k}><![CDATA[{val}]]></{k}>" for k, val in fields.items())
    return f"<{root}>{inner}</{root}>".encode()


def read_request_xml(request: httpx.Request) -> dict[str, str]:
    root = ET.fromstring(request.content)  # noqa: S314 - our own request bytes
    assert root.tag == "xml"
    return {child.tag: child.text or "" for child in root}


def success_answer(
    extra: Mapping[str, str], *, sign_type: str = "HMAC-SHA256", key: str = v.V2_KEY
) -> bytes:
    """A signed ``return_code=SUCCESS, result_code=SUCCESS`` answer with ``extra`` fields."""
    fields = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": APPID,
        "mch_id": MCHID,
        "nonce_str": "ANSWERNONCE",
        "result_code": "SUCCESS",
        **extra,
    }
    return xml_bytes(signed(fields, key, sign_type))


def failure_answer(err_code: str, err_code_des: str, *, sign_type: str = "HMAC-SHA256") -> bytes:
    """A signed ``result_code=FAIL`` answer."""
    fields = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": APPID,
        "mch_id": MCHID,
        "nonce_str": "ANSWERNONCE",
        "result_code": "FAIL",
        "err_code": err_code,
        "err_code_des": err_code_des,
    }
    return xml_bytes(signed(fields, sign_type=sign_type))


def return_fail_answer(return_msg: str) -> bytes:
    return xml_bytes({"return_code": "FAIL", "return_msg": return_msg})


Handler = Callable[[httpx.Request], httpx.Response]


def recording_http(answer: Handler, seen: list[httpx.Request]) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request is appended to ``seen`` and answered."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def answer_with(body: bytes, status_code: int = 200) -> Handler:
    return lambda request: httpx.Response(status_code, content=body)


def fixed_clock(seconds: int = 1490840662) -> FixedClock:
    return FixedClock(seconds)
