"""Money is ``int`` fen everywhere. Yuan strings exist only for display and bill files.

>>> format_yuan(1990)
'19.90'
>>> parse_yuan("19.9")
1990
"""

from __future__ import annotations

import re

__all__ = ["format_yuan", "parse_yuan"]

_YUAN = re.compile(r"(?P<sign>-?)(?P<whole>\d{1,15})(?:\.(?P<frac>\d{1,2}))?")


def parse_yuan(text: str) -> int:
    """Parse a yuan amount such as ``"0.01"``, ``"12"`` or ``"-3.5"`` into int fen.

    Raises ``TypeError`` for anything but ``str`` (a float has already lost precision) and
    ``ValueError`` for more than two decimals, exponents, separators or blanks.
    """
    if not isinstance(text, str):
        raise TypeError(f"yuan amounts must be given as str, not {type(text).__name__}")
    match = _YUAN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a yuan amount with at most two decimals: {text!r}")
    # "19.9" -> "19" + "90": string arithmetic keeps every digit exact.
    fen = int(match["whole"] + (match["frac"] or "").ljust(2, "0"))
    return -fen if match["sign"] else fen


def format_yuan(fen: int) -> str:
    """Format int fen as a yuan string with exactly two decimals (``150`` -> ``"1.50"``)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"amounts are int fen, not {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"
