"""Integer-fen arithmetic for order lines. Money is never a float."""

from __future__ import annotations

__all__ = ["MAX_ORDER_TOTAL_FEN", "MAX_QUANTITY", "line_total_fen", "order_total_fen"]

# WeChat's amount.total is a 32-bit int; stay far below it and reject absurd quantities early.
MAX_ORDER_TOTAL_FEN = 100_000_000  # 1,000,000.00 CNY
MAX_QUANTITY = 999


def line_total_fen(unit_price_fen: int, quantity: int) -> int:
    """``unit_price_fen * quantity`` after checking both are sane positive ints.

    Raises ``ValueError`` naming the bad input.
    """
    if (
        not isinstance(unit_price_fen, int)
        or isinstance(unit_price_fen, bool)
        or unit_price_fen <= 0
    ):
        raise ValueError(f"unit price must be a positive int fen, got {unit_price_fen!r}")
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 1 <= quantity <= MAX_QUANTITY
    ):
        raise ValueError(f"quantity must be an int between 1 and {MAX_QUANTITY}, got {quantity!r}")
    return unit_price_fen * quantity


def order_total_fen(line_totals: list[int]) -> int:
    """Sum of line totals; ``ValueError`` when empty or above ``MAX_ORDER_TOTAL_FEN``."""
    if not line_totals:
        raise ValueError("an order needs at least one line")
    total = sum(line_totals)
    if total > MAX_ORDER_TOTAL_FEN:
        raise ValueError(f"order total {total} fen exceeds the limit of {MAX_ORDER_TOTAL_FEN} fen")
    return total
