"""The merchant's configuration: identifiers, keys, and where WeChat Pay lives.

Frozen and secret-safe: ``repr`` masks every key, so a config can be logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import ConfigurationError
from .keys import certificate_serial, load_certificate, load_private_key, load_public_key

__all__ = ["DEFAULT_BASE_URL", "PUBLIC_KEY_ID_PREFIX", "MerchantConfig"]

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"


@dataclass(frozen=True, repr=False)
class MerchantConfig:
    """What a merchant needs to talk to WeChat Pay.

    - ``merchant_private_key`` + ``merchant_serial_no``: sign v3 requests and v3 ``paySign``.
    - ``api_v3_key`` (32 ASCII chars): decrypt v3 notifications and certificates.
    - ``api_v2_key`` (32 chars): sign and verify v2 XML, decrypt v2 refund ``req_info``.
    - ``wechatpay_public_key`` + ``wechatpay_public_key_id`` (``PUB_KEY_ID_...``) and/or
      ``platform_certificates``: verify what WeChat signs. Both may be set during migration.

    Example::

        config = MerchantConfig.from_pem(
            mchid="1230000109", appid="wxd678efh567hg6787",
            merchant_serial_no="3775B6A45ACD588826D15E583A95F5DD00000001",
            merchant_private_key_pem=open("apiclient_key.pem").read(),
            api_v3_key=os.environ["API_V3_KEY"],
            wechatpay_public_key_pem=open("pub_key.pem").read(),
            wechatpay_public_key_id="PUB_KEY_ID_0114232134912410000000000000",
        )
    """

    mchid: str
    appid: str
    merchant_serial_no: str | None = None
    merchant_private_key: rsa.RSAPrivateKey | None = None
    api_v3_key: str | None = None
    api_v2_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    wechatpay_public_key: rsa.RSAPublicKey | None = None
    wechatpay_public_key_id: str | None = None
    platform_certificates: tuple[x509.Certificate, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.mchid or not self.appid:
            raise ConfigurationError("mchid and appid are required")
        if (self.merchant_private_key is None) != (self.merchant_serial_no is None):
            raise ConfigurationError(
                "merchant_private_key and merchant_serial_no go together (the serial names the key)"
            )
        if self.api_v3_key is not None and len(self.api_v3_key.encode("utf-8")) != 32:
            raise ConfigurationError("api_v3_key must be exactly 32 ASCII characters")
        if self.api_v2_key is not None and not self.api_v2_key:
            raise ConfigurationError("api_v2_key must not be empty")
        if (self.wechatpay_public_key is None) != (self.wechatpay_public_key_id is None):
            raise ConfigurationError("wechatpay_public_key and wechatpay_public_key_id go together")
        if self.wechatpay_public_key_id is not None and not self.wechatpay_public_key_id.startswith(
            PUBLIC_KEY_ID_PREFIX
        ):
            raise ConfigurationError(
                f"wechatpay_public_key_id must start with {PUBLIC_KEY_ID_PREFIX}"
            )
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @classmethod
    def from_pem(
        cls,
        *,
        mchid: str,
        appid: str,
        merchant_serial_no: str | None = None,
        merchant_private_key_pem: str | bytes | None = None,
        api_v3_key: str | None = None,
        api_v2_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        wechatpay_public_key_pem: str | bytes | None = None,
        wechatpay_public_key_id: str | None = None,
        platform_certificate_pems: tuple[str | bytes, ...] = (),
    ) -> MerchantConfig:
        """Build a config from PEM text (the library itself never reads files)."""
        return cls(
            mchid=mchid,
            appid=appid,
            merchant_serial_no=merchant_serial_no,
            merchant_private_key=(
                load_private_key(merchant_private_key_pem)
                if merchant_private_key_pem is not None
                else None
            ),
            api_v3_key=api_v3_key,
            api_v2_key=api_v2_key,
            base_url=base_url,
            wechatpay_public_key=(
                load_public_key(wechatpay_public_key_pem)
                if wechatpay_public_key_pem is not None
                else None
            ),
            wechatpay_public_key_id=wechatpay_public_key_id,
            platform_certificates=tuple(load_certificate(p) for p in platform_certificate_pems),
        )

    def require_signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        """The (serial, key) pair for v3 signing; ``ConfigurationError`` when not configured."""
        if self.merchant_private_key is None or self.merchant_serial_no is None:
            raise ConfigurationError("API v3 needs merchant_private_key and merchant_serial_no")
        return self.merchant_serial_no, self.merchant_private_key

    def require_api_v3_key(self) -> bytes:
        if self.api_v3_key is None:
            raise ConfigurationError("this operation needs api_v3_key")
        return self.api_v3_key.encode("utf-8")

    def require_api_v2_key(self) -> str:
        if self.api_v2_key is None:
            raise ConfigurationError("API v2 needs api_v2_key")
        return self.api_v2_key

    def __repr__(self) -> str:
        serials = ",".join(certificate_serial(c) for c in self.platform_certificates)
        return (
            f"MerchantConfig(mchid={self.mchid!r}, appid={self.appid!r}, "
            f"merchant_serial_no={self.merchant_serial_no!r}, "
            f"merchant_private_key={'***' if self.merchant_private_key else None}, "
            f"api_v3_key={'***' if self.api_v3_key else None}, "
            f"api_v2_key={'***' if self.api_v2_key else None}, base_url={self.base_url!r}, "
            f"wechatpay_public_key_id={self.wechatpay_public_key_id!r}, "
            f"platform_certificates=[{serials}])"
        )
