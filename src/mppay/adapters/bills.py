"""Trade bill bytes to domain ``BillEntry`` rows, streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator

from mppay.domain.wechat_facts import BillEntry
from mppay.usecases.ports import OutcomeUnknown
from mppay.wechatpay import errors as wx
from mppay.wechatpay.tradebill import TradeBillParser, TradeBillRecord

__all__ = ["bill_entries"]


def _entry(record: TradeBillRecord) -> BillEntry:
    return BillEntry(
        trade_time=record.trade_time,
        appid=record.appid,
        mchid=record.mchid,
        out_trade_no=record.out_trade_no,
        transaction_id=record.transaction_id,
        trade_state=record.trade_state,
        total_fen=record.total_fen,
        out_refund_no=record.out_refund_no,
        refund_id=record.refund_id,
        refund_fen=record.refund_fen,
        refund_status=record.refund_status,
    )


async def bill_entries(chunks: AsyncIterator[bytes]) -> AsyncIterator[BillEntry]:
    """Parse ``chunks`` of an uncompressed bill; a malformed bill is outcome unknown."""
    parser = TradeBillParser()
    try:
        async for chunk in chunks:
            for record in parser.feed(chunk):
                yield _entry(record)
        parser.finish()
    except wx.MalformedMessageError as exc:
        raise OutcomeUnknown(f"trade bill unreadable: {exc.message}") from exc
