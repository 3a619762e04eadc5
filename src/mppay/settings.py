"""Configuration from ``MPPAY_*`` environment variables (and an optional ``.env`` file).

Real mode (the default) refuses to start with a missing or placeholder secret, naming the
variable. Sandbox mode (``mppay serve --sandbox``, which ``make run`` passes) needs nothing: the
in-process emulator provisions a merchant.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mppay.token_strength import MIN_TOKEN_BITS, estimated_bits

__all__ = [
    "MERCHANT_ENVIRONMENT",
    "SANDBOX_ADMIN_TOKEN",
    "Settings",
    "SettingsError",
    "read_pem_or_path",
]

_PLACEHOLDER = re.compile(
    r"^(|changeme|change[-_ ]?me|todo|tbd|xxx+|placeholder|example|secret|password|dummy|test|"
    r"your[-_ ].*|<.*>|\$\{.*\}|\.\.\.)$",
    re.IGNORECASE,
)

# The variables that make a real merchant: `mppay serve` without --sandbox needs them.
MERCHANT_VARIABLES = (
    "mchid",
    "appid",
    "app_secret",
    "merchant_private_key",
    "api_v3_key",
    "api_v2_key",
)
MERCHANT_ENVIRONMENT = (
    "MPPAY_MCHID, MPPAY_APPID, MPPAY_APP_SECRET and MPPAY_MERCHANT_SERIAL_NO + "
    "MPPAY_MERCHANT_PRIVATE_KEY + MPPAY_API_V3_KEY (or MPPAY_API_V2_KEY)"
)


DEFAULT_WECHATPAY_BASE_URL = "https://api.mch.weixin.qq.com"
# The sandbox's admin token: printed in the banner and the README, so refused in real mode.
SANDBOX_ADMIN_TOKEN = "sandbox-admin-token"  # noqa: S105
_SECRETS = frozenset(
    {"app_secret", "merchant_private_key", "api_v3_key", "api_v2_key", "admin_token"}
)


class SettingsError(ValueError):
    """A setting is missing or unusable; the message names the environment variable."""


def _is_placeholder(value: str) -> bool:
    stripped = value.strip()
    return bool(_PLACEHOLDER.match(stripped)) or len(set(stripped)) == 1


def _check_token_strength(token: str, variable: str) -> None:
    """Refuse the sandbox's published token and tokens a guesser could find (< 128 bits)."""
    if token == SANDBOX_ADMIN_TOKEN:
        raise SettingsError(
            f"{variable} is the sandbox's published token; generate one with `openssl rand -hex 32`"
        )
    if estimated_bits(token) < MIN_TOKEN_BITS:
        raise SettingsError(
            f"{variable} carries less than {MIN_TOKEN_BITS} bits of randomness (words, sequences "
            "and short tokens are guessable); generate one with `openssl rand -hex 32`"
        )


def read_pem_or_path(value: str, variable: str) -> str:
    """PEM text as given, or the content of the file it names."""
    if "-----BEGIN" in value:
        return value.replace("\\n", "\n")
    path = Path(value).expanduser()
    if not path.is_file():
        raise SettingsError(
            f"{variable} must be PEM text or the path of a PEM file; {path} is not a file"
        )
    return path.read_text("ascii")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MPPAY_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    database_url: str = "sqlite:///var/mppay.sqlite3"
    api_version: Literal["v3", "v2"] = "v3"
    appid: str | None = None
    app_secret: str | None = None
    mchid: str | None = None
    merchant_serial_no: str | None = None
    merchant_private_key: str | None = Field(default=None, repr=False)
    merchant_certificate: str | None = Field(default=None, repr=False)
    api_v3_key: str | None = Field(default=None, repr=False)
    api_v2_key: str | None = Field(default=None, repr=False)
    wechatpay_public_key: str | None = Field(default=None, repr=False)
    wechatpay_public_key_id: str | None = None
    wechatpay_base_url: str = DEFAULT_WECHATPAY_BASE_URL
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    notify_base_url: str | None = None
    admin_token: str | None = Field(default=None, repr=False)
    order_ttl_seconds: int = Field(default=1800, ge=300, le=7 * 24 * 3600)
    session_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=300)
    # A verified token is trusted in-process this long (a revocation elsewhere waits it out).
    session_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    catalog_file: Path | None = None
    v2_sign_type: Literal["MD5", "HMAC-SHA256"] = "HMAC-SHA256"
    # How long to wait for WeChat before treating a call as "outcome unknown".
    wechatpay_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    run_jobs: bool | None = None
    log_level: str = "INFO"
    # Abuse limits (issue 11): login gets its own small connection pool to WeChat so a flood
    # of slow logins cannot starve payment calls, and a per-client-IP token bucket.
    login_max_connections: int = Field(default=10, ge=1, le=200)
    login_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    login_rate_per_minute: float = Field(default=30.0, gt=0)
    login_rate_burst: int = Field(default=20, ge=1)
    max_pending_orders_per_user: int = Field(default=20, ge=1)
    # /metrics: a Bearer token when set; the order gauges' GROUP BY at most this often.
    metrics_token: str | None = Field(default=None, repr=False)
    metrics_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Retention (README "Background jobs"): how long trimmable rows are kept.
    retention_session_days: int = Field(default=7, ge=0)
    retention_idempotency_hours: int = Field(default=72, ge=1)
    retention_rejected_notification_days: int = Field(default=30, ge=1)
    retention_finished_job_days: int = Field(default=30, ge=1)
    # The operations console (README "Operations console"): support's cap per refund, how long
    # a sign-in lasts idle and at most, and the sign-in rate limit per address and per name.
    support_refund_limit_fen: int = Field(default=10_000, ge=0, le=100_000_000)
    console_idle_timeout_seconds: int = Field(default=1800, ge=2, le=7 * 24 * 3600)
    console_session_hours: float = Field(default=12.0, gt=0, le=7 * 24)
    console_sign_in_rate_per_minute: float = Field(default=10.0, gt=0)
    console_sign_in_burst: int = Field(default=5, ge=1)
    # Shipping information (README "Shipping information"): the Mini Program message-push
    # Token and EncodingAESKey (safe mode), the first wait after WeChat's 10060001 or a
    # time-out (doubling), and when an unshipped paid order raises an alert.
    shipping_enabled: bool = True
    message_push_token: str | None = Field(default=None, repr=False)
    message_push_aes_key: str | None = Field(default=None, repr=False)
    shipping_retry_seconds: float = Field(default=30.0, gt=0, le=3600)
    shipping_alert_after_hours: float = Field(default=48.0, gt=0)

    @field_validator("wechatpay_base_url", "wechat_api_base_url", "notify_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _login_follows_an_emulator(self) -> Settings:
        # Pointed at an emulator (any host but WeChat's), login goes there too unless told
        # otherwise: the emulator serves jscode2session next to the payment API.
        if (
            "wechat_api_base_url" not in self.model_fields_set
            and self.wechatpay_base_url != DEFAULT_WECHATPAY_BASE_URL
        ):
            self.wechat_api_base_url = self.wechatpay_base_url
        return self

    def has_merchant_credentials(self) -> bool:
        return any(getattr(self, name) for name in MERCHANT_VARIABLES)

    def check_real_mode(self) -> None:
        """Raise ``SettingsError`` naming the first missing or placeholder variable."""
        required = ["appid", "app_secret", "mchid", "notify_base_url", "admin_token"]
        if self.api_version == "v3":
            required += ["merchant_serial_no", "merchant_private_key", "api_v3_key"]
        else:
            required += ["api_v2_key"]
        for name in required:
            value = getattr(self, name)
            variable = f"MPPAY_{name.upper()}"
            if value is None or not str(value).strip():
                raise SettingsError(f"{variable} is required outside sandbox mode")
            if _is_placeholder(str(value)):
                shown = "" if name in _SECRETS else f" ({value!r})"
                raise SettingsError(f"{variable} looks like a placeholder{shown}, not a real value")
        if self.api_v3_key is not None and len(self.api_v3_key.encode()) != 32:
            raise SettingsError("MPPAY_API_V3_KEY must be exactly 32 characters")
        if self.admin_token is not None:
            _check_token_strength(self.admin_token, "MPPAY_ADMIN_TOKEN")
        if self.metrics_token is not None:
            _check_token_strength(self.metrics_token, "MPPAY_METRICS_TOKEN")
        if (self.wechatpay_public_key is None) != (self.wechatpay_public_key_id is None):
            raise SettingsError(
                "MPPAY_WECHATPAY_PUBLIC_KEY and MPPAY_WECHATPAY_PUBLIC_KEY_ID must be set together"
            )
        talks_to_wechat = self.wechatpay_base_url.startswith("https://api")
        if (
            talks_to_wechat
            and self.notify_base_url
            and not self.notify_base_url.startswith("https://")
        ):
            # Against an emulator (MPPAY_WECHATPAY_BASE_URL elsewhere) plain http is fine.
            raise SettingsError("MPPAY_NOTIFY_BASE_URL must be an https:// URL WeChat can reach")
