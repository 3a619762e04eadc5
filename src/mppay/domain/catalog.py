"""Products and server-side pricing. The client names products and quantities, never prices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .money import line_total_fen, order_total_fen
from .shipping import ShippingKind

__all__ = [
    "Catalog",
    "PricedLine",
    "PricingError",
    "Product",
    "RequestedLine",
    "price_order",
]


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    description: str
    price_fen: int
    # What shipping an order of it needs: virtual goods are uploaded as logistics_type 3
    # right after payment, physical ones wait for the operator's tracking numbers.
    shipping: ShippingKind = ShippingKind.PHYSICAL

    def __post_init__(self) -> None:
        if not self.id or not self.name:
            raise ValueError("a product needs an id and a name")
        if not isinstance(self.price_fen, int) or isinstance(self.price_fen, bool):
            raise ValueError(f"product {self.id}: price_fen must be an int")
        if self.price_fen <= 0:
            raise ValueError(f"product {self.id}: price_fen must be positive")


@dataclass(frozen=True)
class RequestedLine:
    product_id: str
    quantity: int


@dataclass(frozen=True)
class PricedLine:
    """An order line with the price as it was when the order was made (a snapshot)."""

    product_id: str
    name: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int


class PricingError(ValueError):
    """The requested lines cannot be priced; ``code`` is machine readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Catalog:
    """An immutable set of products, looked up by id."""

    def __init__(self, products: Iterable[Product]) -> None:
        by_id: dict[str, Product] = {}
        for product in products:
            if product.id in by_id:
                raise ValueError(f"duplicate product id {product.id!r} in catalog")
            by_id[product.id] = product
        self._by_id: Mapping[str, Product] = by_id

    def all(self) -> list[Product]:
        return list(self._by_id.values())

    def get(self, product_id: str) -> Product | None:
        return self._by_id.get(product_id)

    def __len__(self) -> int:
        return len(self._by_id)


def price_order(catalog: Catalog, lines: list[RequestedLine]) -> tuple[list[PricedLine], int]:
    """Price ``lines`` from the catalog; returns (priced lines, total fen).

    Repeated product ids are merged. Raises ``PricingError`` with code ``EMPTY_ORDER``,
    ``UNKNOWN_PRODUCT``, ``INVALID_QUANTITY`` or ``ORDER_TOO_LARGE``.
    """
    if not lines:
        raise PricingError("EMPTY_ORDER", "an order needs at least one item")
    quantities: dict[str, int] = {}
    for line in lines:
        if catalog.get(line.product_id) is None:
            raise PricingError("UNKNOWN_PRODUCT", f"no product with id {line.product_id!r}")
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    priced: list[PricedLine] = []
    for product_id, quantity in quantities.items():
        product = catalog.get(product_id)
        assert product is not None  # checked above
        try:
            total = line_total_fen(product.price_fen, quantity)
        except ValueError as exc:
            raise PricingError("INVALID_QUANTITY", str(exc)) from exc
        priced.append(PricedLine(product.id, product.name, product.price_fen, quantity, total))
    try:
        total_fen = order_total_fen([line.line_total_fen for line in priced])
    except ValueError as exc:
        raise PricingError("ORDER_TOO_LARGE", str(exc)) from exc
    return priced, total_fen
