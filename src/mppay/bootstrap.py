"""The one place that reads settings and wires concrete adapters into the service.

``build_service`` returns a ``Service`` (engine, context, FastAPI app, closers). Real mode and
sandbox mode run the same code: sandbox only supplies different base URLs and keys.
"""

from __future__ import annotations

import logging
import stat
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from mppay.adapters.catalog_file import load_catalog, load_demo_catalog
from mppay.adapters.instrumented import InstrumentedGateway, InstrumentedLogin
from mppay.adapters.login import WeChatLoginGateway
from mppay.adapters.wechatpay_v2 import WeChatPayV2Gateway
from mppay.adapters.wechatpay_v3 import WeChatPayV3Gateway
from mppay.domain.catalog import Catalog
from mppay.jobs.worker import Worker
from mppay.settings import Settings, SettingsError, read_pem_or_path
from mppay.shipping_wiring import shipping_setup
from mppay.store.db import create_engine
from mppay.store.migrate import upgrade_to_head_async
from mppay.store.uow import UnitOfWorkFactory
from mppay.usecases.context import ServiceContext
from mppay.usecases.ports import Clock, PaymentGateway
from mppay.usecases.retention_policy import RetentionPolicy
from mppay.usecases.session_cache import SessionCache
from mppay.web.app import create_app
from mppay.web.console import ConsoleConfig
from mppay.web.metrics import Metrics, MetricsObserver
from mppay.web.rate_limit import TokenBuckets
from mppay.wechatpay import MerchantConfig, SystemClock
from mppay.wechatpay.errors import ConfigurationError
from mppay.wechatpay.login import MiniProgramLoginClient
from mppay.wechatpay.v2 import WeChatPayV2Client
from mppay.wechatpay.v3 import WeChatPayV3Client

__all__ = ["Service", "build_service", "merchant_config"]

log = logging.getLogger(__name__)

Closer = Callable[[], Awaitable[None]]
# Background work started with the app (certificate refresh, the in-process worker).
Starter = Callable[["Service"], Awaitable[Closer]]

CERTIFICATE_REFRESH_SECONDS = 3600


@dataclass
class Service:
    settings: Settings
    engine: AsyncEngine
    ctx: ServiceContext
    app: FastAPI
    metrics: Metrics
    v3_client: WeChatPayV3Client | None
    closers: list[Closer] = field(default_factory=list)
    # The in-process worker, when one runs (sandbox / SQLite): lets callers wake it.
    worker: Worker | None = None

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            try:
                await close()
            except Exception:
                log.exception("error while shutting down")
        self.closers.clear()


def merchant_config(settings: Settings) -> MerchantConfig:
    """The library config from settings (PEM values may be file paths)."""
    if not settings.mchid or not settings.appid:
        raise SettingsError("MPPAY_MCHID and MPPAY_APPID are required")
    private_key = (
        read_pem_or_path(settings.merchant_private_key, "MPPAY_MERCHANT_PRIVATE_KEY")
        if settings.merchant_private_key
        else None
    )
    public_key = (
        read_pem_or_path(settings.wechatpay_public_key, "MPPAY_WECHATPAY_PUBLIC_KEY")
        if settings.wechatpay_public_key
        else None
    )
    try:
        return MerchantConfig.from_pem(
            mchid=settings.mchid,
            appid=settings.appid,
            merchant_serial_no=settings.merchant_serial_no if private_key else None,
            merchant_private_key_pem=private_key,
            api_v3_key=settings.api_v3_key,
            api_v2_key=settings.api_v2_key,
            base_url=settings.wechatpay_base_url,
            wechatpay_public_key_pem=public_key,
            wechatpay_public_key_id=settings.wechatpay_public_key_id if public_key else None,
        )
    except ConfigurationError as exc:
        raise SettingsError(f"merchant configuration: {exc.message}") from exc


def _catalog(settings: Settings) -> Catalog:
    return load_catalog(settings.catalog_file) if settings.catalog_file else load_demo_catalog()


def _secapi_client(settings: Settings, timeout: httpx.Timeout) -> httpx.AsyncClient | None:
    """The TLS client-certificate client v2 refunds need (``MPPAY_MERCHANT_CERTIFICATE``)."""
    if not settings.merchant_certificate or not settings.merchant_private_key:
        return None
    tls = httpx.create_ssl_context()
    cert, key = settings.merchant_certificate, settings.merchant_private_key
    if "-----BEGIN" not in cert and "-----BEGIN" not in key:
        tls.load_cert_chain(certfile=cert, keyfile=key)
        return httpx.AsyncClient(verify=tls, timeout=timeout)
    # ssl reads the chain only from files: PEM given inline goes to a private folder that is
    # removed as soon as the context holds it, so the key never stays on disk.
    with tempfile.TemporaryDirectory(prefix="mppay-tls-") as folder:
        cert_path, key_path = (
            Path(folder) / "apiclient_cert.pem",
            Path(folder) / "apiclient_key.pem",
        )
        for path, value, variable in (
            (cert_path, cert, "MPPAY_MERCHANT_CERTIFICATE"),
            (key_path, key, "MPPAY_MERCHANT_PRIVATE_KEY"),
        ):
            path.touch(mode=stat.S_IRUSR | stat.S_IWUSR)
            path.write_text(read_pem_or_path(value, variable), "ascii")
        tls.load_cert_chain(certfile=cert_path, keyfile=key_path)
    return httpx.AsyncClient(verify=tls, timeout=timeout)


def _login_http(
    settings: Settings, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """Login's own small pool: a flood of slow jscode2session calls queues (and times out)
    here instead of taking the connections payments need."""
    timeout = httpx.Timeout(
        settings.login_timeout_seconds, connect=min(5.0, settings.login_timeout_seconds)
    )
    return httpx.AsyncClient(
        timeout=timeout,
        transport=transport,
        limits=httpx.Limits(
            max_connections=settings.login_max_connections,
            max_keepalive_connections=settings.login_max_connections,
        ),
        trust_env=transport is None and not settings.wechat_api_base_url.startswith("http://"),
    )


async def build_service(
    settings: Settings,
    *,
    clock: Clock | None = None,
    business_clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    migrate: bool = True,
    starters: list[Starter] | None = None,
) -> Service:
    """Wire the service from ``settings``. ``transport`` replaces the network (tests).

    ``clock`` signs and verifies (wall time); ``business_clock`` (default: ``clock``) is the
    use cases' time: the sandbox passes the emulator's movable clock here.
    """
    clock = clock or SystemClock()
    config = merchant_config(settings)
    timeout = httpx.Timeout(
        settings.wechatpay_timeout_seconds, connect=min(5.0, settings.wechatpay_timeout_seconds)
    )
    http = httpx.AsyncClient(
        timeout=timeout,
        transport=transport,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        trust_env=transport is None and not settings.wechatpay_base_url.startswith("http://"),
    )
    metrics = Metrics(gauge_ttl_seconds=settings.metrics_cache_seconds)
    closers: list[Closer] = [http.aclose]

    gateways: dict[str, PaymentGateway] = {}
    v3_client: WeChatPayV3Client | None = None
    if config.merchant_private_key is not None and config.api_v3_key is not None:
        v3_client = WeChatPayV3Client(config, http=http, clock=clock, timeout=timeout)
        gateways["v3"] = InstrumentedGateway(WeChatPayV3Gateway(v3_client), metrics)
    if config.api_v2_key is not None:
        secapi = _secapi_client(settings, timeout)
        if secapi is not None:
            closers.append(secapi.aclose)
        v2_client = WeChatPayV2Client(
            config,
            http=http,
            secapi_http=secapi,
            clock=clock,
            sign_type=settings.v2_sign_type,
            timeout=settings.wechatpay_timeout_seconds,
        )
        gateways["v2"] = InstrumentedGateway(WeChatPayV2Gateway(v2_client, config, clock), metrics)
    if settings.api_version not in gateways:
        raise SettingsError(
            f"MPPAY_API_VERSION={settings.api_version} but its keys are not configured "
            + (
                "(MPPAY_MERCHANT_PRIVATE_KEY, MPPAY_MERCHANT_SERIAL_NO, MPPAY_API_V3_KEY)"
                if settings.api_version == "v3"
                else "(MPPAY_API_V2_KEY)"
            )
        )
    if not settings.app_secret:
        raise SettingsError("MPPAY_APP_SECRET is required for Mini Program login")
    login_http = _login_http(settings, transport)
    closers.append(login_http.aclose)
    login_client = MiniProgramLoginClient(
        config.appid,
        settings.app_secret,
        base_url=settings.wechat_api_base_url,
        http=login_http,
        timeout=settings.login_timeout_seconds,
    )

    engine = create_engine(settings.database_url)
    closers.append(engine.dispose)
    shipping = shipping_setup(settings, clock=clock, transport=transport, closers=closers)
    ctx = ServiceContext(
        uow=UnitOfWorkFactory(engine),
        gateways=gateways,
        active_version=settings.api_version,
        login=InstrumentedLogin(WeChatLoginGateway(login_client), metrics),
        catalog=_catalog(settings),
        clock=business_clock or clock,
        notify_base_url=settings.notify_base_url or "http://127.0.0.1:8000",
        order_ttl=timedelta(seconds=settings.order_ttl_seconds),
        session_ttl=timedelta(seconds=settings.session_ttl_seconds),
        sessions=SessionCache(timedelta(seconds=settings.session_cache_seconds)),
        observer=MetricsObserver(metrics),
        max_pending_orders_per_user=settings.max_pending_orders_per_user,
        retention=RetentionPolicy(
            sessions_after_expiry=timedelta(days=settings.retention_session_days),
            idempotency_keys=timedelta(hours=settings.retention_idempotency_hours),
            rejected_notifications=timedelta(days=settings.retention_rejected_notification_days),
            finished_jobs=timedelta(days=settings.retention_finished_job_days),
        ),
        shipping=shipping,
    )
    service_holder: list[Service] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service = service_holder[0]
        stops: list[Closer] = []
        for start in starters or []:
            stops.append(await start(service))
        try:
            yield
        finally:
            for stop in reversed(stops):
                await stop()
            await service.aclose()

    app = create_app(
        ctx,
        console=ConsoleConfig(
            support_refund_limit_fen=settings.support_refund_limit_fen,
            idle_timeout=timedelta(seconds=settings.console_idle_timeout_seconds),
            lifetime=timedelta(hours=settings.console_session_hours),
            sign_in_rate_per_minute=settings.console_sign_in_rate_per_minute,
            sign_in_burst=settings.console_sign_in_burst,
        ),
        admin_token=settings.admin_token,
        metrics=metrics,
        metrics_token=settings.metrics_token,
        lifespan=lifespan,
        login_buckets=TokenBuckets(
            rate_per_minute=settings.login_rate_per_minute, burst=settings.login_rate_burst
        ),
    )
    if migrate:
        await upgrade_to_head_async(engine)
    service = Service(
        settings=settings,
        engine=engine,
        ctx=ctx,
        app=app,
        metrics=metrics,
        v3_client=v3_client,
        closers=closers,
    )
    service_holder.append(service)
    return service
