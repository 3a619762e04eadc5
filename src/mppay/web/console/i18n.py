"""The console's labels in Chinese (the default: operators in China read it first) and English.

``t(key)`` in a template looks a key up in the operator's language; a key missing here shows
as itself, which the unit tests forbid for every key the templates use.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["LABELS", "LANGUAGES", "translator"]

LANGUAGES = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    "console": ("运营后台", "Operations console"),
    "overview": ("概览", "Overview"),
    "orders": ("订单", "Orders"),
    "refunds": ("退款", "Refunds"),
    "reconciliation": ("对账", "Reconciliation"),
    "notifications": ("回调通知", "Notifications"),
    "jobs": ("后台任务", "Jobs"),
    "audit": ("操作日志", "Audit log"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "sign_in_failed": ("用户名或密码错误", "Wrong username or password"),
    "session_expired": ("会话已过期，请重新登录", "Your session expired; sign in again"),
    "rate_limited": ("登录尝试过多，请稍后再试", "Too many sign-in attempts; try again later"),
    "sandbox_banner": (
        "沙箱模式：微信支付由本地模拟器扮演，没有真实资金流动。",
        "Sandbox: WeChat Pay is played by the local emulator; no real money moves.",
    ),
    "emulator_controls": ("模拟器控制台", "Emulator controls"),
    "role": ("角色", "Role"),
    "role_viewer": ("只读", "viewer"),
    "role_support": ("客服", "support"),
    "role_admin": ("管理员", "admin"),
    "today": ("今天", "Today"),
    "yesterday": ("昨天", "Yesterday"),
    "paid_amount": ("收款金额", "Paid amount"),
    "paid_count": ("支付笔数", "Payments"),
    "refunds_today": ("今日退款", "Refunds today"),
    "needs_review": ("待核查订单", "Orders needing review"),
    "rejected_24h": ("24小时内被拒的回调", "Rejected notifications (24 h)"),
    "failing_jobs": ("失败的任务", "Failing jobs"),
    "last_reconciliation": ("最近一次对账", "Last reconciliation"),
    "none_yet": ("暂无", "None yet"),
    "per_hour": ("每小时收款（今天 vs 昨天）", "Paid per hour (today vs yesterday)"),
    "per_day": ("近30天每日收款", "Paid per day (last 30 days)"),
    "peak": ("峰值", "Peak"),
    "search": ("搜索", "Search"),
    "search_hint": (
        "订单号 / 商户订单号 / 微信支付单号 / openid",
        "order id / out_trade_no / transaction_id / openid",
    ),
    "status": ("状态", "Status"),
    "any": ("全部", "Any"),
    "date_from": ("起始日期", "From"),
    "date_to": ("截止日期", "To"),
    "amount_min": ("最低金额", "Min amount"),
    "amount_max": ("最高金额", "Max amount"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "no_rows": ("没有记录", "Nothing here"),
    "order_id": ("订单ID", "Order id"),
    "out_trade_no": ("商户订单号", "out_trade_no"),
    "transaction_id": ("微信支付单号", "transaction_id"),
    "amount": ("金额", "Amount"),
    "refunded": ("已退款", "Refunded"),
    "created_at": ("创建时间", "Created"),
    "paid_at": ("支付时间", "Paid"),
    "items": ("商品", "Items"),
    "product": ("商品", "Product"),
    "unit_price": ("单价", "Unit price"),
    "quantity": ("数量", "Qty"),
    "line_total": ("小计", "Line total"),
    "timeline": ("时间线", "Timeline"),
    "actions": ("操作", "Actions"),
    "refund": ("退款", "Refund"),
    "refund_amount": ("退款金额（元）", "Refund amount (yuan)"),
    "refundable": ("可退金额", "Refundable"),
    "reason": ("原因", "Reason"),
    "continue": ("下一步", "Continue"),
    "confirm_refund": ("确认退款", "Confirm refund"),
    "confirm_refund_text": (
        "请核对：以下金额将原路退回给用户，提交后无法撤回。",
        "Check it: this amount goes back to the payer and cannot be undone.",
    ),
    "cancel": ("取消", "Cancel"),
    "close_order": ("关闭订单", "Close order"),
    "refresh": ("向微信查询", "Refresh from WeChat"),
    "resolve_review": ("标记已核查", "Mark review resolved"),
    "comment": ("处理说明", "Comment"),
    "review_reason": ("核查原因", "Review reason"),
    "support_limit": ("客服单笔退款上限", "Support's limit per refund"),
    "forbidden": ("无权限执行此操作", "You are not allowed to do this"),
    "forbidden_limit": (
        "超出客服单笔退款上限，请联系管理员",
        "Above support's limit per refund; ask an admin",
    ),
    "csrf_failed": (
        "表单已失效（CSRF 校验失败），请刷新页面后重试",
        "The form expired (CSRF check failed); reload the page and try again",
    ),
    "done_refund": ("退款已提交", "Refund submitted"),
    "done_close": ("订单已关闭", "Order closed"),
    "done_refresh": ("已向微信查询并更新", "Refreshed from WeChat"),
    "done_resolve_review": ("已标记为核查完成", "Review marked resolved"),
    "done_retry": ("任务已重新排队", "Job queued again"),
    "done_rerun": ("对账已排队重跑", "Reconciliation queued"),
    "error": ("操作失败", "Action failed"),
    "refund_abnormal_advice": (
        "退款异常：用户的银行卡已作废或冻结，原路退回失败。请在微信支付商户平台“交易中心-退款管理”手动处理此笔退款（退至用户余额或线下转账），处理后点击“向微信查询”。",
        "ABNORMAL: the payer's bank card was cancelled or frozen, so the money could not go back the way it came. Handle it on the WeChat Pay merchant platform (Transactions > Refunds: refund to the user's balance or transfer offline), then press Refresh from WeChat.",
    ),
    "refund_processing_advice": (
        "处理中：等待微信退款结果通知，后台任务会定时查询。",
        "Processing: waiting for WeChat's refund notification; a background job queries it.",
    ),
    "refund_closed_advice": (
        "退款已关闭：资金未退出，可重新发起退款。",
        "Closed: no money left; a new refund can be requested.",
    ),
    "bill_date": ("账单日期", "Bill date"),
    "result": ("结果", "Result"),
    "bill_rows": ("账单行数", "Bill rows"),
    "fixed": ("已修复", "Fixed"),
    "held": ("待次日", "Held"),
    "unexplained": ("未解决", "Unexplained"),
    "kind": ("类型", "Kind"),
    "resolution": ("处理", "Resolution"),
    "ours": ("本地", "Ours"),
    "theirs": ("微信", "WeChat"),
    "fix": ("处理办法", "Fix"),
    "rerun": ("重新对账", "Re-run"),
    "rerun_day": ("重跑某日对账", "Re-run a day"),
    "fix_missing_locally": (
        "微信有支付而本地没有：已通过签名查询补记（FIXED），否则请查询该订单。",
        "Paid at WeChat, unknown here: recorded through a signed query (FIXED); otherwise look the order up.",
    ),
    "fix_missing_at_wechat": (
        "本地已支付但账单中没有：零点前后支付的会留到次日账单（HELD）；否则向微信核实。",
        "Paid here, not in the bill: payments near midnight wait for the next day's bill (HELD); otherwise check with WeChat.",
    ),
    "fix_amount_mismatch": (
        "金额不一致：订单已标记待核查，请在商户平台核对实收金额。",
        "Amounts differ: the order is flagged for review; check the amount received on the merchant platform.",
    ),
    "fix_status_mismatch": (
        "状态不一致：已按微信的签名查询结果更新（FIXED）；未修复的请点“向微信查询”。",
        "States differ: updated from WeChat's signed answer (FIXED); if still open, press Refresh from WeChat.",
    ),
    "fix_refund_missing_locally": (
        "微信有退款而本地没有：请在商户平台核实是谁发起的退款。",
        "A refund at WeChat we did not make: find out on the merchant platform who issued it.",
    ),
    "fix_refund_missing_at_wechat": (
        "本地退款成功但账单中没有：等待次日账单，仍缺失则联系微信支付。",
        "Refunded here, not in the bill: wait for the next day's bill; if still missing, contact WeChat Pay.",
    ),
    "fix_refund_status_mismatch": (
        "退款状态不一致：已按微信的查询结果更新；未修复的请在订单页查询。",
        "Refund states differ: updated from WeChat's answer; if still open, refresh the order.",
    ),
    "filter": ("筛选", "Filter"),
    "verified": ("验签通过", "Verified"),
    "rejected": ("被拒", "Rejected"),
    "duplicate": ("重复", "Duplicate"),
    "received_at": ("接收时间", "Received"),
    "channel": ("类别", "Channel"),
    "outcome": ("结果", "Outcome"),
    "job": ("任务", "Job"),
    "attempts": ("尝试次数", "Attempts"),
    "run_at": ("计划时间", "Run at"),
    "last_error": ("最近错误", "Last error"),
    "retry": ("重试", "Retry"),
    "queued": ("排队中", "Queued"),
    "failing": ("失败中 / 已放弃", "Failing / failed"),
    "when": ("时间", "When"),
    "who": ("操作人", "Who"),
    "what": ("操作", "What"),
    "target": ("对象", "Target"),
    "from_where": ("来源地址", "From"),
    "details": ("详情", "Details"),
    "language": ("English", "中文"),
    "times_in": ("时间均为北京时间（UTC+8）", "Times are Beijing time (UTC+8)"),
    "not_found": ("找不到该记录", "Not found"),
}


def translator(lang: str) -> Callable[[str], str]:
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = LABELS.get(key)
        return pair[index] if pair else key

    return t
