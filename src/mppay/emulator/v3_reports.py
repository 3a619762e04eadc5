"""v3 certificates and trade bills: ``/v3/certificates``, ``/v3/bill/tradebill`` and the file."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.responses import Response

from . import ids
from .bills import BILL_TYPES, build_bill, compress
from .clock import beijing_date, format_rfc3339
from .crypto import aes_gcm_encrypt, sha1_hex
from .errors import V3Error
from .state import Merchant
from .v3_call import Result, V3Call, query_error
from .wire import base_url

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["V3Reports"]

MSG_PUBLIC_KEY_ONLY = (
    "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。"
    "可查看指引https://pay.weixin.qq.com/docs/merchant/products/platform-certificate/wxp-pub-key-guide.html"
)
BILL_HISTORY_DAYS = 92


BILL_HISTORY_DAYS = 92


class V3Reports:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def certificates(self, call: V3Call) -> Result:
        merchant = call.merchant
        if merchant.key_mode == "public_key" or merchant.platform_certificate_pem is None:
            raise V3Error(404, "RESOURCE_NOT_EXISTS", MSG_PUBLIC_KEY_ONLY)
        nonce = ids.alnum(12)
        ciphertext = aes_gcm_encrypt(
            merchant.api_v3_key, nonce, "certificate", merchant.platform_certificate_pem.encode()
        )
        return 200, {
            "data": [
                {
                    "serial_no": merchant.platform_serial_no,
                    "effective_time": format_rfc3339(merchant.platform_effective_at or 0),
                    "expire_time": format_rfc3339(merchant.platform_expire_at or 0),
                    "encrypt_certificate": {
                        "algorithm": "AEAD_AES_256_GCM",
                        "nonce": nonce,
                        "associated_data": "certificate",
                        "ciphertext": ciphertext,
                    },
                }
            ]
        }

    def tradebill(self, call: V3Call) -> Result:
        raw_date = call.query("bill_date", "账单日期")
        bill_type = call.query("bill_type", "账单类型", required=False) or "ALL"
        tar_type = call.query("tar_type", "压缩类型", required=False)
        try:
            day = datetime.strptime(raw_date, "%Y-%m-%d").date()
        except ValueError:
            raise query_error(
                "bill_date", "账单日期", "格式校验失败，应为yyyy-MM-DD", raw_date
            ) from None
        if bill_type not in BILL_TYPES:
            raise query_error("bill_type", "账单类型", "取值校验失败", bill_type)
        if tar_type not in ("", "GZIP"):
            raise query_error("tar_type", "压缩类型", "取值校验失败", tar_type)
        data = self._bill_for(call.merchant, day, bill_type)
        token = self.emu.bill_tokens.issue(
            call.merchant.mchid,
            compress(data) if tar_type == "GZIP" else data,
            gzipped=tar_type == "GZIP",
            now=self.emu.clock.now(),
        )
        url = (
            base_url(call.request, self.emu.public_base_url)
            + "/v3/billdownload/file?token="
            + token
        )
        return 200, {"hash_type": "SHA1", "hash_value": sha1_hex(data), "download_url": url}

    def _bill_for(self, merchant: Merchant, day: date, bill_type: str) -> bytes:
        today = beijing_date(self.emu.clock.now())
        if day >= today:
            raise V3Error(400, "INVALID_REQUEST", "账单日期不能是当日或未来日期，当日账单次日生成")
        if day < today - timedelta(days=BILL_HISTORY_DAYS):
            raise V3Error(400, "INVALID_REQUEST", "只能下载三个月以内的账单")
        data = build_bill(self.emu.state, merchant, day, bill_type)
        if data is None:
            raise V3Error(400, "NO_STATEMENT_EXIST", "该日期无账单，请确认账单日期")
        return data

    def download(self, call: V3Call) -> Result:
        token = call.request.query_params.get("token", "")
        found = self.emu.bill_tokens.get(token, call.merchant.mchid, self.emu.clock.now())
        if found is None:
            raise V3Error(400, "INVALID_REQUEST", "下载链接已失效或不属于该商户，请重新获取")
        return Response(
            found.data,
            headers={"Request-ID": ids.request_id()},
            media_type="application/octet-stream",
        )
