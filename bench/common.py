"""Shared machinery: real processes, CPU accounting from /proc, percentiles, tables, results.

Everything here runs real ``mppay`` processes (``mppay emulator``, ``mppay serve --real``) on
loopback, like the reliability tests do, so the numbers include HTTP, JSON, the database and
the process boundaries a deployment has.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console
from rich.table import Table
from tests.support.processes import ADMIN_TOKEN, Process, free_port, mppay_argv

from bench.httpclient import Connection

console = Console(highlight=False, width=max(140, Console().width))

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- configuration shared by every benchmark -------------------------------------------------


@dataclass
class Options:
    quick: bool
    results_dir: Path
    work_dir: Path
    postgres_url: str | None  # server URL (any database); None: PostgreSQL parts are skipped
    scale_orders: int | None = None

    @property
    def databases(self) -> list[str]:
        return ["sqlite", "postgresql"] if self.postgres_url else ["sqlite"]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# --- statistics and output -----------------------------------------------------------------


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, int(fraction * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[rank])


def latency_summary(seconds: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds."""
    values = sorted(seconds)
    return {
        "p50_ms": round(percentile(values, 0.50) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
        "max_ms": round((values[-1] if values else 0.0) * 1000, 2),
    }


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_result(options: Options, name: str, result: dict[str, Any]) -> Path:
    """``<results>/<name>.json`` (the latest run of that benchmark)."""
    options.results_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "quick": options.quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    path = options.results_dir / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    console.print(f"[dim]wrote {path}[/]")
    return path


# --- CPU accounting ------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone in between
        return None
    return text[text.rindex(")") + 2 :].split()


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process tree: ``pid`` and its live descendants (utime + stime each), plus
    every member's cutime + cstime (descendants that exited and were reaped).

    ``mppay serve --workers N`` and gunicorn both run their work in child processes of a
    supervisor; counting the parent alone would miss nearly all of it. A child that exits
    between two snapshots moves from "live" into its parent's cutime/cstime once reaped
    (both supervisors reap), so the difference of two snapshots stays right."""
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        stats[int(entry.name)] = fields
        parents[int(entry.name)] = int(fields[1])
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        fields = stats.get(current)
        if fields is None:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        pending.extend(children.get(current, []))
    return total / CLK_TCK


def postgres_cpu_by_pid() -> dict[int, float]:
    """CPU of every process called ``postgres`` on the machine (the whole server), by pid."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name != "postgres" and not name.startswith("postgres:"):
            continue
        fields = text[text.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found


def self_cpu_seconds() -> float:
    return time.process_time()


@dataclass
class CpuSnapshot:
    at: float
    by_process: dict[str, float]
    postgres: dict[int, float] | None = None


def cpu_snapshot(pids: dict[str, int], *, postgres: bool) -> CpuSnapshot:
    values = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    values["loadgen"] = self_cpu_seconds()
    return CpuSnapshot(time.perf_counter(), values, postgres_cpu_by_pid() if postgres else None)


def cpu_between(start: CpuSnapshot, end: CpuSnapshot) -> dict[str, float]:
    """CPU seconds per process between two snapshots. PostgreSQL: every server process alive
    at the end, counted from zero if it started in between (backends that exited in between
    are missed, so this is a lower bound)."""
    used = {
        name: round(end.by_process[name] - start.by_process[name], 3) for name in start.by_process
    }
    if start.postgres is not None and end.postgres is not None:
        used["postgres"] = round(
            sum(seconds - start.postgres.get(pid, 0.0) for pid, seconds in end.postgres.items()),
            3,
        )
    return used


# --- processes -----------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MPPAY_")}


def generate_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


class Target(Protocol):
    """What the load generator needs of a service under test (mppay's ``Stack``, the peer)."""

    @property
    def database(self) -> str:
        """ "sqlite" | "postgresql": whether PostgreSQL's CPU is counted."""
        ...

    @property
    def service_url(self) -> str: ...

    @property
    def emulator_url(self) -> str: ...

    @property
    def merchant(self) -> dict[str, Any]: ...

    @property
    def pids(self) -> dict[str, int]:
        """Processes whose CPU is counted, by name (each with its descendants)."""
        ...


@dataclass
class Stack:
    """``mppay emulator`` and ``mppay serve --real --workers N`` against it, each in its own
    process (``workers`` > 1: a supervisor and N children; PostgreSQL only)."""

    options: Options
    database: str  # "sqlite" | "postgresql"
    database_url: str
    folder: Path
    workers: int = 1
    emulator: Process | None = None
    service: Process | None = None
    emulator_url: str = ""
    service_url: str = ""
    merchant: dict[str, Any] = field(default_factory=dict)
    wechatpay_private_key_pem: str = ""

    def start(self) -> Stack:
        self.folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.emulator_url = f"http://127.0.0.1:{port}"
        # No --state-file: the emulator keeps its state in memory (no JSON dump per write).
        self.emulator = Process(
            "emulator",
            mppay_argv("emulator", "--port", str(port), "--public-base-url", self.emulator_url),
            clean_env(),
            self.folder / "emulator.log",
            health_url=f"{self.emulator_url}/sandbox/faults",
        ).start()
        # The WeChat-side key is ours, so the notification benchmark can sign like WeChat.
        self.wechatpay_private_key_pem = generate_key_pem()
        response = httpx.post(
            f"{self.emulator_url}/sandbox/merchants",
            json={"wechatpay_private_key_pem": self.wechatpay_private_key_pem},
            timeout=30,
        )
        response.raise_for_status()
        self.merchant = response.json()
        self.start_service()
        return self

    def start_service(self) -> None:
        service_port = free_port()
        self.service_url = f"http://127.0.0.1:{service_port}"
        self.service = Process(
            "service",
            mppay_argv(
                "serve",
                "--real",
                "--port",
                str(service_port),
                "--workers",
                str(self.workers),
                "--no-worker",
            ),
            self.service_env(),
            self.folder / f"service-{self.workers}.log",
            health_url=f"{self.service_url}/healthz",
        ).start()

    def restart_service(self, *, workers: int) -> None:
        """The same emulator, merchant and database; a new ``mppay serve --workers N``."""
        if self.service is not None:
            self.service.stop()
        self.workers = workers
        self.start_service()

    def service_env(self) -> dict[str, str]:
        merchant = self.merchant
        env = clean_env()
        env.update(
            MPPAY_DATABASE_URL=self.database_url,
            MPPAY_API_VERSION="v3",
            MPPAY_APPID=merchant["appid"],
            MPPAY_APP_SECRET=merchant["app_secret"],
            MPPAY_MCHID=merchant["mchid"],
            MPPAY_MERCHANT_SERIAL_NO=merchant["merchant_serial_no"],
            MPPAY_MERCHANT_PRIVATE_KEY=merchant["merchant_private_key_pem"],
            MPPAY_API_V3_KEY=merchant["api_v3_key"],
            MPPAY_API_V2_KEY=merchant["api_v2_key"],
            MPPAY_WECHATPAY_PUBLIC_KEY=merchant["wechatpay_public_key_pem"],
            MPPAY_WECHATPAY_PUBLIC_KEY_ID=merchant["wechatpay_public_key_id"],
            MPPAY_WECHATPAY_BASE_URL=self.emulator_url,
            MPPAY_WECHAT_API_BASE_URL=self.emulator_url,
            MPPAY_NOTIFY_BASE_URL=self.service_url,
            MPPAY_ADMIN_TOKEN=ADMIN_TOKEN,
            MPPAY_WECHATPAY_TIMEOUT_SECONDS="10",
            MPPAY_LOG_LEVEL="WARNING",
            # Load from one address (127.0.0.1), users with many orders still open: lift the
            # per-IP login limit and the open-order cap, which would refuse it.
            MPPAY_LOGIN_RATE_BURST="100000",
            MPPAY_MAX_PENDING_ORDERS_PER_USER="100000",
        )
        return env

    @property
    def pids(self) -> dict[str, int]:
        assert self.service is not None
        assert self.emulator is not None
        return {"service": self.service.pid, "emulator": self.emulator.pid}

    def set_faults(self, **faults: Any) -> None:
        httpx.put(f"{self.emulator_url}/sandbox/faults", json=faults, timeout=10).raise_for_status()

    def stop(self) -> None:
        for process in (self.service, self.emulator):
            if process is not None:
                process.stop()

    def check_logs(self) -> list[str]:
        """Tracebacks in the service log (a benchmark that crashed the service is no result)."""
        problems = []
        if self.service is not None and self.service.log.exists():
            text = self.service.log.read_text(errors="replace")
            if "Traceback" in text:
                problems.append(f"service log has a traceback: {text[-1500:]}")
        return problems


# --- databases -----------------------------------------------------------------------------


class Databases:
    """Throw-away databases: SQLite files under the work dir, PostgreSQL ``mppay_bench_*``."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.prefix = f"mppay_bench_{os.getpid()}_{secrets.token_hex(2)}"
        self.created: list[str] = []

    def server_dsn(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        assert self.options.postgres_url is not None
        url = make_url(self.options.postgres_url).set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    async def _admin(self, statement: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.server_dsn("postgres"))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def new(self, kind: str, label: str) -> str:
        if kind == "sqlite":
            folder = self.options.work_dir / f"sqlite-{label}-{secrets.token_hex(3)}"
            folder.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{folder / 'mppay.sqlite3'}"
        name = f"{self.prefix}_{label}"
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.server_dsn(name)

    async def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[-1]
        if name in self.created:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.created.remove(name)

    async def drop_all(self) -> None:
        for name in list(self.created):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


async def postgres_reachable(url: str) -> bool:
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql", database="postgres")
    try:
        connection = await asyncio.wait_for(
            asyncpg.connect(dsn.render_as_string(hide_password=False)), timeout=5
        )
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


# --- Mini Program clients ------------------------------------------------------------------


@dataclass
class Client:
    """One simulated Mini Program user: its own keep-alive connection and session token."""

    openid: str
    token: str
    connection: Connection

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def login_clients(stack: Target, count: int, *, prefix: str = "bench") -> list[Client]:
    """``wx.login`` at the emulator, then ``POST /api/login`` at the service, ``count`` times."""
    host, port = _host_port(stack.service_url)
    emu_host, emu_port = _host_port(stack.emulator_url)
    semaphore = asyncio.Semaphore(50)

    async def one(index: int) -> Client:
        async with semaphore:
            openid = f"o{prefix}{index:06d}{secrets.token_hex(6)}"
            emu = Connection(emu_host, emu_port)
            try:
                status, body = await emu.post_json(
                    "/sandbox/login", {"appid": stack.merchant["appid"], "openid": openid}
                )
            finally:
                await emu.close()
            if status != 200:
                raise RuntimeError(f"sandbox login: {status} {body[:200]!r}")
            code = json.loads(body)["code"]
            connection = Connection(host, port)
            status, body = await connection.post_json("/api/login", {"code": code})
            if status != 200:
                raise RuntimeError(f"POST /api/login: {status} {body[:200]!r}")
            return Client(openid, json.loads(body)["token"], connection)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def close_clients(clients: Iterable[Client]) -> None:
    await asyncio.gather(*(client.connection.close() for client in clients))


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


ORDER_BODY = {"items": [{"product_id": "latte", "quantity": 1}]}


async def create_and_pay(client: Client) -> dict[str, Any]:
    """One order turned into ``wx.requestPayment`` params; raises on any non-2xx."""
    status, body = await client.connection.post_json("/api/orders", ORDER_BODY, client.auth)
    if status != 201:
        raise RequestFailed(f"POST /api/orders: {status} {body[:200]!r}", status)
    order = json.loads(body)
    status, body = await client.connection.post_json(
        f"/api/orders/{order['id']}/pay", None, client.auth
    )
    if status != 200:
        raise RequestFailed(f"POST /api/orders/{{id}}/pay: {status} {body[:200]!r}", status)
    params = json.loads(body)["params"]
    if params.get("signType") != "RSA" or not params.get("paySign"):
        raise RequestFailed(f"no signed params: {params!r}", status)
    order["openid"] = client.openid
    return dict(order)


class RequestFailed(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
