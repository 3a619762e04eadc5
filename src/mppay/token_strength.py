"""How much randomness a bearer token carries, estimated conservatively.

A token is split at separators (``-``, ``_``, ``.``, ``:``, space) and each part is scored:
a run of one character or a straight sequence (``aaaa``, ``0123``, ``fedc``) counts as almost
nothing, a short all-letter part counts as one word from a large dictionary, and anything else
counts its length times log2 of its character set (digits 10, hex 16, lower or upper letters 26,
both 52, letters and digits 62, with punctuation 94). ``openssl rand -hex 32`` scores 256 bits,
``reliability-admin-token-0123`` about 50: the difference between a key and a label.

The estimate errs low for unusual-but-random tokens (splitting at separators loses their bits),
which is the safe side: the fix is always a longer random token.
"""

from __future__ import annotations

import itertools
import math
import re
import string

__all__ = ["MIN_TOKEN_BITS", "estimated_bits"]

MIN_TOKEN_BITS = 128
# Words (and names, years, keyboard walks) an attacker tries first: ~2^16 of them.
_WORD_BITS = 16.0
_WORD_LIKE = re.compile(r"^[A-Za-z]{1,12}$")
_SEPARATORS = re.compile(r"[-_.: ]+")
_HEX = frozenset("0123456789abcdef")
_HEX_UPPER = frozenset("0123456789ABCDEF")


def _alphabet_size(part: str) -> int:
    chars = frozenset(part)
    if chars <= _HEX or chars <= _HEX_UPPER:
        return 10 if chars <= frozenset(string.digits) else 16
    size = 0
    if chars & frozenset(string.digits):
        size += 10
    if chars & frozenset(string.ascii_lowercase):
        size += 26
    if chars & frozenset(string.ascii_uppercase):
        size += 26
    if chars - frozenset(string.ascii_letters + string.digits):
        size += 32
    return size


def _is_run_or_sequence(part: str) -> bool:
    if len(part) < 3:
        return False
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(part)}
    return steps in ({0}, {1}, {-1})


def _period(part: str) -> int:
    """The length of the shortest unit that ``part`` repeats (``len(part)`` when none)."""
    for size in range(1, len(part) // 2 + 1):
        if part == (part[:size] * (len(part) // size + 1))[: len(part)]:
            return size
    return len(part)


def _part_bits(part: str) -> float:
    unit = _period(part)
    if unit < len(part):
        return _part_bits(part[:unit]) + math.log2(len(part) / unit)
    if _is_run_or_sequence(part):
        return math.log2(len(part) * 64)  # which character it starts at, how long it runs
    random_bits = len(part) * math.log2(_alphabet_size(part))
    if _WORD_LIKE.match(part):
        return min(random_bits, _WORD_BITS)
    return random_bits


def estimated_bits(token: str) -> float:
    """A conservative estimate of the token's randomness in bits (0 for an empty token).

    >>> estimated_bits("3f9c1e0b7d2a48e6b5c0f1a29d7e3b84") >= 128
    True
    >>> estimated_bits("sandbox-admin-token") < 64
    True
    """
    # A part repeated adds nothing the first copy did not.
    parts = {part.lower(): part for part in _SEPARATORS.split(token) if part}
    return sum(_part_bits(part) for part in parts.values())
