"""Streaming parser for WeChat Pay trade bills (v3 ``tradebill`` and v2 ``downloadbill``).

The file is CSV-like (spec 2.10): a header line, data rows whose every field starts with a
backtick, then a summary header and one summary row. Amounts are yuan with two decimals and
are turned into int fen here. Feed it chunks of any size; memory stays constant.

>>> parser = TradeBillParser()
>>> records = list(parser.feed("交易时间,公众账号ID,商户号\\r\\n".encode()))
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .errors import MalformedMessageError
from .money import parse_yuan

__all__ = ["TradeBillParser", "TradeBillRecord", "TradeBillSummary"]

_BEIJING = timezone(timedelta(hours=8))
# Header names (ALL / SUCCESS / REFUND bills share them; absent ones read as empty).
_COLUMNS = {
    "trade_time": "交易时间",
    "appid": "公众账号ID",
    "mchid": "商户号",
    "transaction_id": "微信订单号",
    "out_trade_no": "商户订单号",
    "openid": "用户标识",
    "trade_type": "交易类型",
    "trade_state": "交易状态",
    "currency": "货币种类",
    "settlement_total": "应结订单金额",
    "refund_id": "微信退款单号",
    "out_refund_no": "商户退款单号",
    "refund_amount": "退款金额",
    "refund_status": "退款状态",
    "fee": "手续费",
    "order_total": "订单金额",
    "requested_refund": "申请退款金额",
}
_SUMMARY_FIRST = "总交易单数"
_MAX_LINE = 64 * 1024


@dataclass(frozen=True)
class TradeBillRecord:
    """One bill row. A payment row has ``trade_state`` SUCCESS; a refund row REFUND."""

    trade_time: datetime
    appid: str
    mchid: str
    transaction_id: str
    out_trade_no: str
    openid: str
    trade_type: str
    trade_state: str
    currency: str
    total_fen: int
    refund_id: str
    out_refund_no: str
    refund_fen: int
    refund_status: str

    @property
    def is_refund(self) -> bool:
        return bool(self.out_refund_no) or self.trade_state == "REFUND"


@dataclass(frozen=True)
class TradeBillSummary:
    """The summary row: number of trades and totals (fen)."""

    trade_count: int
    settlement_total_fen: int
    refund_total_fen: int


class TradeBillParser:
    """Incremental parser: ``feed(chunk)`` yields records, ``finish()`` returns the summary."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._pending = ""
        self._index: dict[str, int] | None = None
        self._in_summary = False
        self._summary: TradeBillSummary | None = None
        self._last_time_text = ""
        self._last_time = datetime.min
        self.line_number = 0

    def feed(self, chunk: bytes) -> Iterator[TradeBillRecord]:
        try:
            self._pending += self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise MalformedMessageError(
                f"trade bill is not UTF-8 near line {self.line_number + 1}"
            ) from exc
        *lines, self._pending = self._pending.split("\n")
        if len(self._pending) > _MAX_LINE:
            raise MalformedMessageError(f"trade bill line {self.line_number + 1} is too long")
        for line in lines:
            record = self._line(line.rstrip("\r"))
            if record is not None:
                yield record

    def finish(self) -> TradeBillSummary:
        """Parse what is left; raise ``MalformedMessageError`` if the bill had no summary."""
        tail = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        if tail.strip():
            record = self._line(tail.rstrip("\r"))
            if record is not None:
                raise MalformedMessageError(
                    "trade bill ends with a data row instead of its summary"
                )
        if self._summary is None:
            raise MalformedMessageError("trade bill has no summary row (truncated?)")
        return self._summary

    def _line(self, line: str) -> TradeBillRecord | None:
        self.line_number += 1
        if not line.strip():
            return None
        if self._index is None:
            names = [name.strip() for name in line.split(",")]
            if _COLUMNS["trade_time"] not in names or _COLUMNS["out_trade_no"] not in names:
                raise MalformedMessageError(
                    f"trade bill line {self.line_number}: not a bill header"
                )
            self._index = {name: position for position, name in enumerate(names)}
            return None
        if line.startswith(_SUMMARY_FIRST):
            self._in_summary = True
            return None
        fields = [field.removeprefix("`") for field in line.split(",")]
        if self._in_summary:
            self._summary = self._summary_row(fields)
            return None
        return self._record(fields)

    def _get(self, fields: list[str], key: str) -> str:
        assert self._index is not None
        position = self._index.get(_COLUMNS[key])
        return fields[position].strip() if position is not None and position < len(fields) else ""

    def _identifier(self, fields: list[str], key: str) -> str:
        # Payment rows carry "0" in the refund id columns.
        value = self._get(fields, key)
        return "" if value == "0" else value

    def _fen(self, fields: list[str], key: str) -> int:
        text = self._get(fields, key)
        try:
            return parse_yuan(text) if text else 0
        except ValueError as exc:
            raise MalformedMessageError(
                f"trade bill line {self.line_number}: {key} {text!r} is not an amount"
            ) from exc

    def _record(self, fields: list[str]) -> TradeBillRecord:
        assert self._index is not None
        if len(fields) < len(self._index):
            raise MalformedMessageError(
                f"trade bill line {self.line_number}: {len(fields)} fields, header has {len(self._index)}"
            )
        text = self._get(fields, "trade_time")
        if text != self._last_time_text:
            # Rows come in time order, many per second: parse each distinct time once.
            try:
                self._last_time = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(
                    tzinfo=_BEIJING
                )
            except ValueError as exc:
                raise MalformedMessageError(
                    f"trade bill line {self.line_number}: bad trade time"
                ) from exc
            self._last_time_text = text
        trade_time = self._last_time
        # 订单金额 (order total) when the bill has it, else 应结订单金额 (settlement total).
        settlement_total = self._fen(fields, "settlement_total")
        order_total = (
            self._fen(fields, "order_total") if _COLUMNS["order_total"] in self._index else 0
        )
        return TradeBillRecord(
            trade_time=trade_time,
            appid=self._get(fields, "appid"),
            mchid=self._get(fields, "mchid"),
            transaction_id=self._get(fields, "transaction_id"),
            out_trade_no=self._get(fields, "out_trade_no"),
            openid=self._get(fields, "openid"),
            trade_type=self._get(fields, "trade_type"),
            trade_state=self._get(fields, "trade_state"),
            currency=self._get(fields, "currency"),
            total_fen=order_total or settlement_total,
            refund_id=self._identifier(fields, "refund_id"),
            out_refund_no=self._identifier(fields, "out_refund_no"),
            refund_fen=self._fen(fields, "refund_amount"),
            refund_status=self._get(fields, "refund_status"),
        )

    def _summary_row(self, fields: list[str]) -> TradeBillSummary:
        try:
            return TradeBillSummary(
                trade_count=int(fields[0]),
                settlement_total_fen=parse_yuan(fields[1]) if len(fields) > 1 else 0,
                refund_total_fen=parse_yuan(fields[2]) if len(fields) > 2 else 0,
            )
        except ValueError as exc:
            raise MalformedMessageError(
                f"trade bill line {self.line_number}: bad summary row"
            ) from exc
