"""API v3 request signing (spec §2.2) and the v3 ``wx.requestPayment`` ``paySign`` (spec §3.1).

Pure functions build the exact bytes that are signed; ``RequestSigner`` adds the merchant
identity, the injected clock and the nonce source.

>>> build_request_message("GET", "/v3/certificates", 1554208460, "593BEC0C930BF1AFEB40B4A08C8FB242", b"")
b'GET\\n/v3/certificates\\n1554208460\\n593BEC0C930BF1AFEB40B4A08C8FB242\\n\\n'
"""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..clock import Clock, NonceFactory, unix_seconds
from ..errors import ConfigurationError
from ..request_payment import RequestPaymentParams

__all__ = [
    "AUTHORIZATION_SCHEME",
    "RequestSigner",
    "build_authorization",
    "build_pay_sign_message",
    "build_request_message",
    "sign_message",
]

AUTHORIZATION_SCHEME = "WECHATPAY2-SHA256-RSA2048"

# Header parameter values are quoted strings and every signed value is one line of the
# message, so quotes, backslashes, commas and line breaks would make the header or the
# message ambiguous.
_SAFE_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+")


def build_request_message(
    method: str, canonical_url: str, timestamp: int | str, nonce: str, body: bytes
) -> bytes:
    """The five-line string-to-sign ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n`` as bytes.

    ``canonical_url`` is the path plus ``?query`` exactly as sent (already percent-encoded);
    ``body`` is the exact bytes sent (``b""`` for a GET, giving an empty last line).
    """
    head = f"{method.upper()}\n{canonical_url}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


def build_pay_sign_message(app_id: str, time_stamp: str, nonce_str: str, package: str) -> bytes:
    """The four-line ``appId\\ntimeStamp\\nnonceStr\\npackage\\n`` string signed into ``paySign``."""
    return f"{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n".encode()


def sign_message(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """RSASSA-PKCS1-v1_5 with SHA-256 over ``message``, standard Base64 with padding."""
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def build_authorization(
    *, mchid: str, nonce_str: str, timestamp: int | str, serial_no: str, signature: str
) -> str:
    """The ``Authorization`` header value, parameters in wechatpay-go's order, no spaces.

    Raises ``ConfigurationError`` when a value would break the quoted-parameter syntax.
    """
    params = {
        "mchid": mchid,
        "nonce_str": nonce_str,
        "timestamp": str(timestamp),
        "serial_no": serial_no,
        "signature": signature,
    }
    for name, value in params.items():
        _require_safe(name, value)
    joined = ",".join(f'{name}="{value}"' for name, value in params.items())
    return f"{AUTHORIZATION_SCHEME} {joined}"


class RequestSigner:
    """Signs as one merchant: ``Authorization`` headers and v3 ``paySign`` values.

    Time comes from ``clock`` and nonces from ``nonce_factory``; nothing here reads the wall
    clock or the random source directly.
    """

    def __init__(
        self,
        mchid: str,
        serial_no: str,
        private_key: rsa.RSAPrivateKey,
        *,
        clock: Clock,
        nonce_factory: NonceFactory,
    ) -> None:
        _require_safe("mchid", mchid)
        _require_safe("serial_no", serial_no)
        self.mchid = mchid
        self.serial_no = serial_no
        self._private_key = private_key
        self._clock = clock
        self._nonce_factory = nonce_factory

    def sign(self, message: bytes) -> str:
        """Sign arbitrary bytes with the merchant key (Base64 RSA-SHA256)."""
        return sign_message(self._private_key, message)

    def authorization(self, method: str, canonical_url: str, body: bytes) -> str:
        """A fresh ``Authorization`` value for one request (new timestamp and nonce).

        Raises ``ConfigurationError`` if the nonce factory returns an unusable nonce.
        """
        timestamp = unix_seconds(self._clock)
        nonce = self._nonce()
        message = build_request_message(method, canonical_url, timestamp, nonce, body)
        return build_authorization(
            mchid=self.mchid,
            nonce_str=nonce,
            timestamp=timestamp,
            serial_no=self.serial_no,
            signature=self.sign(message),
        )

    def request_payment(self, app_id: str, prepay_id: str) -> RequestPaymentParams:
        """Signed ``wx.requestPayment`` parameters for a v3 ``prepay_id`` (``signType`` RSA).

        ``timeStamp`` is Unix seconds as a string, as the Mini Program API requires.
        """
        time_stamp = str(unix_seconds(self._clock))
        nonce = self._nonce()
        package = f"prepay_id={prepay_id}"
        pay_sign = self.sign(build_pay_sign_message(app_id, time_stamp, nonce, package))
        return RequestPaymentParams(
            app_id=app_id,
            time_stamp=time_stamp,
            nonce_str=nonce,
            package=package,
            sign_type="RSA",
            pay_sign=pay_sign,
        )

    def _nonce(self) -> str:
        nonce = self._nonce_factory()
        if len(nonce) > 32:
            raise ConfigurationError("nonce factory returned more than 32 characters")
        _require_safe("nonce_str", nonce)
        return nonce

    def __repr__(self) -> str:
        return f"RequestSigner(mchid={self.mchid!r}, serial_no={self.serial_no!r}, key=***)"


def _require_safe(name: str, value: str) -> None:
    if not _SAFE_VALUE.fullmatch(value):
        raise ConfigurationError(
            f"{name} must be non-empty printable ASCII without quotes, commas, "
            "backslashes or spaces"
        )
