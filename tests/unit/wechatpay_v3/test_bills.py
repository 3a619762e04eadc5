"""BillDecoder: spec §7.11 digest, gzip detection, truncation and tampering."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from mppay.wechatpay.errors import BillDigestError, MalformedMessageError, OutcomeUnknownError
from mppay.wechatpay.v3.bills import BillDecoder
from mppay.wechatpay.v3.models import TradeBill
from tests import spec_vectors as v

BILL = v.BILL_711.encode()


def trade_bill(hash_value: str = v.BILL_711_SHA1, hash_type: str = "SHA1") -> TradeBill:
    return TradeBill(
        hash_type=hash_type,
        hash_value=hash_value,
        download_url="https://api.mch.weixin.qq.com/v3/billdownload/file?token=t",
    )


def decode(data: bytes, bill: TradeBill, chunk_size: int | None = None) -> bytes:
    decoder = BillDecoder(bill)
    size = chunk_size or max(len(data), 1)
    pieces: list[bytes] = []
    for start in range(0, len(data), size):
        pieces.extend(decoder.feed(data[start : start + size]))
    pieces.extend(decoder.finish())
    return b"".join(pieces)


def test_vector_7_11_plain_bill_passes_its_digest() -> None:
    assert decode(BILL, trade_bill()) == BILL


def test_a_gzip_bill_is_decompressed_and_checked_on_the_uncompressed_bytes() -> None:
    assert decode(gzip.compress(BILL), trade_bill()) == BILL


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7])
def test_tiny_chunks_give_the_same_bytes(chunk_size: int) -> None:
    assert decode(gzip.compress(BILL), trade_bill(), chunk_size) == BILL
    assert decode(BILL, trade_bill(), chunk_size) == BILL


def test_the_hash_value_is_compared_case_insensitively() -> None:
    assert decode(BILL, trade_bill(v.BILL_711_SHA1.upper())) == BILL


def test_a_wrong_hash_is_a_bill_digest_error_and_outcome_unknown() -> None:
    with pytest.raises(BillDigestError, match="does not match") as caught:
        decode(BILL, trade_bill("0" * 40))
    assert isinstance(caught.value, OutcomeUnknownError)


def test_a_changed_byte_in_the_bill_fails_the_digest() -> None:
    with pytest.raises(BillDigestError):
        decode(BILL.replace(b"1230000109", b"1230000108"), trade_bill())


def test_a_truncated_gzip_bill_is_rejected() -> None:
    with pytest.raises(BillDigestError, match="truncated"):
        decode(gzip.compress(BILL)[:-10], trade_bill())


def test_data_after_the_gzip_stream_is_rejected() -> None:
    with pytest.raises(BillDigestError, match="after the gzip stream"):
        decode(gzip.compress(BILL) + b"junk", trade_bill())


def test_corrupt_gzip_is_rejected() -> None:
    data = bytearray(gzip.compress(BILL))
    data[12] ^= 0xFF
    with pytest.raises(BillDigestError):
        decode(bytes(data), trade_bill())


def test_a_large_compressible_bill_comes_out_in_bounded_pieces() -> None:
    big = b"`2023-11-14 22:13:30,`wx,`1\r\n" * 100_000

    bill = trade_bill(hashlib.sha1(big).hexdigest())
    decoder = BillDecoder(bill)
    pieces = [*decoder.feed(gzip.compress(big)), *decoder.finish()]
    assert b"".join(pieces) == big
    assert max(len(p) for p in pieces) <= 64 * 1024


def test_an_empty_bill_is_checked_too() -> None:
    with pytest.raises(BillDigestError):
        decode(b"", trade_bill())


def test_an_unsupported_hash_type_is_refused_up_front() -> None:
    with pytest.raises(MalformedMessageError):
        BillDecoder(trade_bill(hash_type="MD5"))
