-- The benchmark peer's tables (bench/peer/app.py), created by `flask --app bench.peer.app init-db`.
DROP TABLE IF EXISTS order_items;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS users;

CREATE TABLE users (
    openid TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token TEXT PRIMARY KEY,
    openid TEXT NOT NULL REFERENCES users (openid),
    created_at TEXT NOT NULL
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    out_trade_no TEXT NOT NULL UNIQUE,
    openid TEXT NOT NULL REFERENCES users (openid),
    amount_total_fen INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'PENDING',
    prepay_id TEXT,
    transaction_id TEXT UNIQUE,
    created_at TEXT NOT NULL,
    paid_at TEXT
);

CREATE TABLE order_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    product_id TEXT NOT NULL,
    name TEXT NOT NULL,
    unit_price_fen INTEGER NOT NULL,
    quantity INTEGER NOT NULL
);
CREATE INDEX order_items_order_id ON order_items (order_id);
