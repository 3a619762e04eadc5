"""Loading the product catalog from a JSON file (``MPPAY_CATALOG_FILE``) or the demo catalog."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from mppay.domain.catalog import Catalog, Product
from mppay.domain.shipping import ShippingKind

__all__ = ["CatalogFileError", "load_catalog", "load_demo_catalog"]


class CatalogFileError(ValueError):
    """The catalog file is unreadable or invalid; the message says where."""


def _parse(text: str, origin: str) -> Catalog:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"{origin}: not JSON ({exc})") from exc
    items = data.get("products") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise CatalogFileError(
            f'{origin}: expected {{"products": [...]}} with at least one product'
        )
    products = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise CatalogFileError(f"{origin}: product #{index} is not an object")
        price = item.get("price_fen")
        if not isinstance(price, int) or isinstance(price, bool):
            raise CatalogFileError(
                f"{origin}: product #{index}: price_fen must be an integer number of fen"
            )
        shipping = item.get("shipping", ShippingKind.PHYSICAL.value)
        if shipping not in {kind.value for kind in ShippingKind}:
            raise CatalogFileError(
                f"{origin}: product #{index}: shipping must be physical or virtual"
            )
        try:
            products.append(
                Product(
                    id=str(item["id"]),
                    name=str(item["name"]),
                    description=str(item.get("description", "")),
                    price_fen=price,
                    shipping=ShippingKind(shipping),
                )
            )
        except (KeyError, ValueError) as exc:
            raise CatalogFileError(f"{origin}: product #{index}: {exc}") from exc
    try:
        return Catalog(products)
    except ValueError as exc:
        raise CatalogFileError(f"{origin}: {exc}") from exc


def load_catalog(path: Path) -> Catalog:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise CatalogFileError(f"{path}: cannot read ({exc.strerror})") from exc
    return _parse(text, str(path))


def load_demo_catalog() -> Catalog:
    text = resources.files("mppay.adapters").joinpath("demo_catalog.json").read_text("utf-8")
    return _parse(text, "demo catalog")
