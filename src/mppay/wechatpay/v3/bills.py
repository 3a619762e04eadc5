"""Turning a downloaded trade bill file into checked bytes (spec §2.10).

The file response is not signed; its integrity comes from ``hash_value`` in the (signed)
``GET /v3/bill/tradebill`` answer: the SHA-1 of the *uncompressed* file. ``BillDecoder`` works
incrementally so a large bill streams through in bounded memory, and only ``finish()`` can
tell whether the whole file was genuine.

Whether the bytes are gzip is read from the bytes (the gzip magic ``1f 8b``), not from the
``tar_type`` that was asked for: an HTTP stack may already have undone a
``Content-Encoding: gzip``, and a CSV bill never starts with those two bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections.abc import Iterator

from ..errors import BillDigestError, MalformedMessageError
from .models import TradeBill

__all__ = ["BillDecoder"]

_GZIP_MAGIC = b"\x1f\x8b"
# Largest piece handed out at once: bounds memory even for a highly compressed bill.
_PIECE = 64 * 1024


class BillDecoder:
    """Feed the raw file bytes in order; get uncompressed bill bytes; ``finish()`` checks them.

    Example::

        decoder = BillDecoder(bill)
        data = b"".join([*decoder.feed(body), *decoder.finish()])

    Raises ``MalformedMessageError`` at construction for a ``hash_type`` other than SHA1.
    """

    def __init__(self, bill: TradeBill) -> None:
        if bill.hash_type.upper() != "SHA1":
            raise MalformedMessageError(f"unsupported bill hash_type {bill.hash_type[:16]!r}")
        self._expected = bill.hash_value.strip().lower()
        # WeChat chose SHA-1 for bill digests; we can only check what it publishes.
        self._digest = hashlib.sha1()  # noqa: S324
        self._head = b""
        self._inflater: zlib._Decompress | None = None
        self._sniffed = False
        self._finished = False

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Yield the uncompressed bytes contained in ``chunk`` (possibly none yet).

        Raises ``BillDigestError`` when the gzip data is corrupt or continues past its end.
        """
        if self._finished:
            raise RuntimeError("BillDecoder.feed after finish")
        if not self._sniffed:
            self._head += chunk
            if len(self._head) < len(_GZIP_MAGIC):
                return
            chunk, self._head = self._head, b""
            self._sniffed = True
            if chunk.startswith(_GZIP_MAGIC):
                self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        yield from self._output(chunk)

    def finish(self) -> Iterator[bytes]:
        """Yield what is left, then check completeness and the digest.

        Raises ``BillDigestError`` when the gzip stream is truncated or the SHA-1 of the
        uncompressed bytes differs from ``hash_value`` (the bytes already yielded must then be
        discarded).
        """
        if not self._sniffed:
            self._sniffed = True
            chunk, self._head = self._head, b""
            yield from self._output(chunk)
        if self._inflater is not None:
            try:
                tail = self._inflater.flush()
            except zlib.error as exc:
                raise BillDigestError("bill file is not valid gzip") from exc
            if tail:
                self._digest.update(tail)
                yield tail
            if not self._inflater.eof:
                raise BillDigestError("bill file is truncated: the gzip stream ends early")
        self._finished = True
        actual = self._digest.hexdigest()
        if not hmac.compare_digest(actual, self._expected):
            raise BillDigestError(
                f"bill SHA-1 {actual} does not match the announced hash_value "
                f"{self._expected[:40]!r}; discard the file and download it again"
            )

    def _output(self, chunk: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            for start in range(0, len(chunk), _PIECE):
                piece = chunk[start : start + _PIECE]
                self._digest.update(piece)
                yield piece
            return
        data = chunk
        while data:
            if self._inflater.eof:
                raise BillDigestError("bill file has unexpected data after the gzip stream")
            try:
                piece = self._inflater.decompress(data, _PIECE)
            except zlib.error as exc:
                raise BillDigestError("bill file is not valid gzip") from exc
            data = self._inflater.unconsumed_tail
            if piece:
                self._digest.update(piece)
                yield piece
        if self._inflater.unused_data:
            raise BillDigestError("bill file has unexpected data after the gzip stream")
