"""Everything a use case needs, wired once by ``mppay.bootstrap``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from mppay.domain.catalog import Catalog
from mppay.store.models import OrderRow
from mppay.store.uow import UnitOfWork
from mppay.usecases.errors import UpstreamUnavailable
from mppay.usecases.observer import LoggingObserver, Observer
from mppay.usecases.ports import Clock, LoginGateway, PaymentGateway
from mppay.usecases.rejection_log import RejectionLog
from mppay.usecases.retention_policy import RetentionPolicy
from mppay.usecases.session_cache import SessionCache
from mppay.usecases.shipping_ports import ShippingSetup
from mppay.usecases.single_flight import SingleFlight

__all__ = ["ServiceContext"]


@dataclass
class ServiceContext:
    """The service's dependencies.

    ``gateways`` holds one gateway per configured API version; orders remember the version
    they were prepaid with, so a merchant can move from v2 to v3 without stranding orders.
    """

    uow: Callable[..., UnitOfWork]
    gateways: Mapping[str, PaymentGateway]
    active_version: str
    login: LoginGateway
    catalog: Catalog
    clock: Clock
    notify_base_url: str
    order_ttl: timedelta = timedelta(minutes=30)
    session_ttl: timedelta = timedelta(days=7)
    currency: str = "CNY"
    # Open (PENDING, unexpired) orders one user may hold; more is a client looping or abuse.
    max_pending_orders_per_user: int = 20
    # User refreshes in flight by order id: concurrent ones share one WeChat query.
    order_refreshes: SingleFlight[str, OrderRow] = field(default_factory=SingleFlight)
    observer: Observer = field(default_factory=LoggingObserver)
    # Refused notifications are logged at most a few per minute (anyone can POST junk).
    rejections: RejectionLog = field(default_factory=RejectionLog)
    # Tokens verified in the last few seconds (per process; see session_cache).
    sessions: SessionCache = field(default_factory=SessionCache)
    # How long sessions, idempotency keys, rejected notifications and finished jobs are kept.
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    # Shipping information (发货信息管理); None when the Mini Program API is not configured.
    shipping: ShippingSetup | None = None

    @property
    def gateway(self) -> PaymentGateway:
        """The gateway new orders are prepaid with."""
        return self.gateways[self.active_version]

    def gateway_for(self, api_version: str) -> PaymentGateway:
        try:
            return self.gateways[api_version]
        except KeyError:
            raise UpstreamUnavailable(
                "API_VERSION_NOT_CONFIGURED",
                f"WeChat Pay API {api_version} is not configured on this server",
            ) from None

    def notify_url(self, api_version: str, channel: str) -> str:
        """The notify_url WeChat calls back: ``<base>/notify/<version>/<payments|refunds>``."""
        return f"{self.notify_base_url.rstrip('/')}/notify/{api_version}/{channel}"
