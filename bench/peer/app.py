"""BENCHMARK PEER, NOT PRODUCT CODE.

The Mini Program payment loop written the way the tutorials write it: Flask, the
``wechatpayv3`` SDK (synchronous, ``requests`` underneath), the stdlib ``sqlite3`` with a
connection per request, served by ``gunicorn -k gthread --workers 2 --threads 8``.
``bench.prepay`` drives it with the same load as mppay, against the same emulator, to put a
conventional backend's throughput next to mppay's. It is written to be competent and plain:
no deliberate slowness, no tricks.

The HTTP contract is the one the load generator uses against mppay:

- ``POST /api/login {"code"}`` -> ``jscode2session`` -> ``{"token"}``
- ``POST /api/orders {"items":[{"product_id","quantity"}]}`` (Bearer) -> 201 order
- ``POST /api/orders/<id>/pay`` (Bearer) -> JSAPI prepay -> ``{"order_id","params"}``
- ``GET /api/orders/<id>`` (Bearer) -> order
- ``POST /notify`` <- WeChat Pay's ``TRANSACTION.SUCCESS`` -> the order is PAID

Configuration from the environment (``PEER_DATABASE`` and the ``WECHAT*`` variables below);
the tables: ``flask --app bench.peer.app init-db``.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import requests
from flask import Flask, g, jsonify, request
from flask.typing import ResponseReturnValue
from wechatpayv3 import WeChatPay, WeChatPayType  # type: ignore[import-untyped]

app = Flask(__name__)
app.config.update(
    DATABASE=os.environ.get("PEER_DATABASE", "peer.sqlite3"),
    APPID=os.environ.get("WECHAT_APPID", ""),
    APP_SECRET=os.environ.get("WECHAT_APP_SECRET", ""),
    WECHAT_API_BASE_URL=os.environ.get("WECHAT_API_BASE_URL", "https://api.weixin.qq.com"),
)

# id -> (name, price in fen): mppay's demo catalog.
CATALOG: dict[str, tuple[str, int]] = {
    "latte": ("拿铁咖啡", 1800),
    "croissant": ("黄油可颂", 1250),
    "beans": ("云南咖啡豆", 6800),
    "sticker": ("贴纸", 1),
}

wxpay = WeChatPay(
    wechatpay_type=WeChatPayType.MINIPROG,
    mchid=os.environ.get("WECHATPAY_MCHID", ""),
    private_key=os.environ.get("WECHATPAY_PRIVATE_KEY", ""),
    cert_serial_no=os.environ.get("WECHATPAY_CERT_SERIAL_NO", ""),
    appid=app.config["APPID"],
    apiv3_key=os.environ.get("WECHATPAY_APIV3_KEY", ""),
    notify_url=os.environ.get("WECHATPAY_NOTIFY_URL", ""),
    public_key=os.environ.get("WECHATPAY_PUBLIC_KEY", ""),
    public_key_id=os.environ.get("WECHATPAY_PUBLIC_KEY_ID", ""),
    timeout=(5, 10),
)
# The SDK has no base-URL option; point it at the emulator (WeChat's paths, plain HTTP).
if os.environ.get("WECHATPAY_BASE_URL"):
    wxpay._core._gate_way = os.environ["WECHATPAY_BASE_URL"]


# --- database (the Flask tutorial's pattern) ------------------------------------------------


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(app.config["DATABASE"], timeout=10)
        g.db.row_factory = sqlite3.Row
    db: sqlite3.Connection = g.db
    return db


@app.teardown_appcontext
def close_db(exception: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


@app.cli.command("init-db")
def init_db() -> None:
    """Create the tables (dropping old ones) and switch the file to WAL."""
    db = sqlite3.connect(app.config["DATABASE"])
    db.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer (two workers)
    db.executescript((Path(__file__).with_name("schema.sql")).read_text())
    db.close()
    click.echo(f"initialised {app.config['DATABASE']}")


def now() -> str:
    return datetime.now(UTC).isoformat()


# --- helpers ---------------------------------------------------------------------------------


def error(status: int, code: str, message: str) -> ResponseReturnValue:
    return jsonify({"code": code, "message": message}), status


def current_openid() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    row = get_db().execute("SELECT openid FROM sessions WHERE token = ?", (header[7:],)).fetchone()
    return row["openid"] if row else None


def order_json(order: sqlite3.Row, items: list[sqlite3.Row]) -> dict[str, Any]:
    return {
        "id": order["id"],
        "out_trade_no": order["out_trade_no"],
        "status": order["status"],
        "amount_total_fen": order["amount_total_fen"],
        "currency": "CNY",
        "items": [
            {
                "product_id": item["product_id"],
                "name": item["name"],
                "unit_price_fen": item["unit_price_fen"],
                "quantity": item["quantity"],
                "line_total_fen": item["unit_price_fen"] * item["quantity"],
            }
            for item in items
        ],
        "created_at": order["created_at"],
        "paid_at": order["paid_at"],
        "transaction_id": order["transaction_id"],
    }


# --- Mini Program API ------------------------------------------------------------------------


@app.get("/api/products")
def products() -> ResponseReturnValue:
    return jsonify(
        [{"id": key, "name": name, "price_fen": price} for key, (name, price) in CATALOG.items()]
    )


@app.post("/api/login")
def login() -> ResponseReturnValue:
    code = (request.get_json(silent=True) or {}).get("code")
    if not code:
        return error(400, "INVALID_REQUEST", "code is required")
    try:
        response = requests.get(
            app.config["WECHAT_API_BASE_URL"] + "/sns/jscode2session",
            params={
                "appid": app.config["APPID"],
                "secret": app.config["APP_SECRET"],
                "js_code": code,
                "grant_type": "authorization_code",
            },
            timeout=5,
        )
        session = response.json()
    except (requests.RequestException, ValueError):
        return error(503, "WECHAT_UNAVAILABLE", "login service unavailable")
    openid = session.get("openid")
    if not openid:
        return error(401, "LOGIN_FAILED", session.get("errmsg", "login failed"))
    token = secrets.token_urlsafe(32)
    db = get_db()
    db.execute("INSERT OR IGNORE INTO users (openid, created_at) VALUES (?, ?)", (openid, now()))
    db.execute(
        "INSERT INTO sessions (token, openid, created_at) VALUES (?, ?, ?)",
        (token, openid, now()),
    )
    db.commit()
    return jsonify({"token": token})


@app.post("/api/orders")
def create_order() -> ResponseReturnValue:
    openid = current_openid()
    if openid is None:
        return error(401, "UNAUTHORIZED", "login required")
    items = (request.get_json(silent=True) or {}).get("items")
    if not isinstance(items, list) or not items:
        return error(400, "INVALID_REQUEST", "items are required")
    lines: list[tuple[str, str, int, int]] = []
    for item in items:
        product_id = item.get("product_id") if isinstance(item, dict) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        product = CATALOG.get(product_id) if isinstance(product_id, str) else None
        if product is None or not isinstance(quantity, int) or not 1 <= quantity <= 99:
            return error(400, "INVALID_ITEM", f"invalid item: {item!r}")
        lines.append((str(product_id), product[0], product[1], quantity))
    total = sum(price * quantity for _, _, price, quantity in lines)
    out_trade_no = datetime.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(6)
    db = get_db()
    cursor = db.execute(
        "INSERT INTO orders (out_trade_no, openid, amount_total_fen, created_at)"
        " VALUES (?, ?, ?, ?)",
        (out_trade_no, openid, total, now()),
    )
    order_id = cursor.lastrowid
    db.executemany(
        "INSERT INTO order_items (order_id, product_id, name, unit_price_fen, quantity)"
        " VALUES (?, ?, ?, ?, ?)",
        [(order_id, *line) for line in lines],
    )
    db.commit()
    order = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    rows = db.execute("SELECT * FROM order_items WHERE order_id = ?", (order_id,)).fetchall()
    return jsonify(order_json(order, rows)), 201


@app.get("/api/orders/<int:order_id>")
def get_order(order_id: int) -> ResponseReturnValue:
    openid = current_openid()
    if openid is None:
        return error(401, "UNAUTHORIZED", "login required")
    db = get_db()
    order = db.execute(
        "SELECT * FROM orders WHERE id = ? AND openid = ?", (order_id, openid)
    ).fetchone()
    if order is None:
        return error(404, "NOT_FOUND", "no such order")
    rows = db.execute("SELECT * FROM order_items WHERE order_id = ?", (order_id,)).fetchall()
    return jsonify(order_json(order, rows))


@app.post("/api/orders/<int:order_id>/pay")
def pay_order(order_id: int) -> ResponseReturnValue:
    openid = current_openid()
    if openid is None:
        return error(401, "UNAUTHORIZED", "login required")
    db = get_db()
    order = db.execute(
        "SELECT * FROM orders WHERE id = ? AND openid = ?", (order_id, openid)
    ).fetchone()
    if order is None:
        return error(404, "NOT_FOUND", "no such order")
    if order["status"] != "PENDING":
        return error(409, "NOT_PAYABLE", f"order is {order['status']}")
    names = db.execute("SELECT name FROM order_items WHERE order_id = ?", (order_id,)).fetchall()
    try:
        code, message = wxpay.pay(
            description="、".join(row["name"] for row in names)[:127],
            out_trade_no=order["out_trade_no"],
            amount={"total": order["amount_total_fen"], "currency": "CNY"},
            payer={"openid": openid},
            pay_type=WeChatPayType.MINIPROG,
        )
    except Exception as exc:  # requests errors, or "failed to verify the signature"
        app.logger.warning("prepay failed: %s", exc)
        return error(502, "WECHAT_UNAVAILABLE", "payment service unavailable")
    if code != 200:
        app.logger.warning("prepay refused: %s %s", code, message)
        return error(502, "PREPAY_FAILED", "payment service refused the order")
    prepay_id = json.loads(message)["prepay_id"]
    db.execute("UPDATE orders SET prepay_id = ? WHERE id = ?", (prepay_id, order_id))
    db.commit()
    timestamp = str(int(time.time()))
    nonce_str = secrets.token_hex(16)
    package = "prepay_id=" + prepay_id
    pay_sign = wxpay.sign([app.config["APPID"], timestamp, nonce_str, package])
    return jsonify(
        {
            "order_id": order_id,
            "params": {
                "timeStamp": timestamp,
                "nonceStr": nonce_str,
                "package": package,
                "signType": "RSA",
                "paySign": pay_sign,
            },
        }
    )


# --- WeChat Pay notification -----------------------------------------------------------------


@app.post("/notify")
def notify() -> ResponseReturnValue:
    result = wxpay.callback(request.headers, request.get_data())  # verify + decrypt
    if not result:
        return jsonify({"code": "FAIL", "message": "invalid notification"}), 401
    if result.get("event_type") == "TRANSACTION.SUCCESS":
        resource = result["resource"]
        if resource.get("trade_state") == "SUCCESS":
            db = get_db()
            db.execute(
                "UPDATE orders SET status = 'PAID', transaction_id = ?, paid_at = ?"
                " WHERE out_trade_no = ? AND amount_total_fen = ? AND status = 'PENDING'",
                (
                    resource["transaction_id"],
                    resource.get("success_time") or now(),
                    resource["out_trade_no"],
                    resource["amount"]["total"],
                ),
            )
            db.commit()
    return jsonify({"code": "SUCCESS", "message": "成功"})
