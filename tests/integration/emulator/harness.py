"""Test-side tools for driving the emulator over real loopback HTTP.

Everything here is written for the tests, independently of both the emulator and the client
library: a uvicorn server in a thread, a v3 request signer (``httpx.Auth``), response
verification, v2 XML helpers, and a merchant "notify receiver" that records what it gets.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import socket
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import httpx
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

SLOW = 0  # script value: answer 200, but only after SLOW_SECONDS (past the ack timeout)
SLOW_SECONDS = 1.5
V2_SUCCESS = b"<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"


class ServerThread:
    """uvicorn serving ``app`` on a free loopback port, in a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._socket.close()


def load_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


class V3Signer(httpx.Auth):
    """Signs like a merchant (§2.2). ``order`` permutes the Authorization parameters."""

    def __init__(
        self,
        merchant: dict[str, Any],
        *,
        order: tuple[str, ...] = ("mchid", "nonce_str", "timestamp", "serial_no", "signature"),
        clock: Callable[[], float] = time.time,
        serial_header: str | None = None,
    ) -> None:
        self.mchid = merchant["mchid"]
        self.serial = merchant["merchant_serial_no"]
        self.key = load_key(merchant["merchant_private_key_pem"])
        self.order = order
        self.clock = clock
        self.serial_header = serial_header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = str(int(self.clock()))
        nonce = secrets.token_hex(16).upper()
        url = request.url.raw_path.decode()
        message = f"{request.method}\n{url}\n{timestamp}\n{nonce}\n".encode()
        message += request.content + b"\n"
        values = {
            "mchid": self.mchid,
            "nonce_str": nonce,
            "timestamp": timestamp,
            "serial_no": self.serial,
            "signature": rsa_sign(self.key, message),
        }
        params = ",".join(f'{name}="{values[name]}"' for name in self.order)
        request.headers["Authorization"] = f"WECHATPAY2-SHA256-RSA2048 {params}"
        if self.serial_header:
            request.headers["Wechatpay-Serial"] = self.serial_header
        yield request


def verify_signed(response: httpx.Response | Any, public_key_pem: str, body: bytes) -> bool:
    """The ``Wechatpay-*`` headers verify over ``body`` with ``public_key_pem``."""
    headers = response.headers
    key = serialization.load_pem_public_key(public_key_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    message = f"{headers['wechatpay-timestamp']}\n{headers['wechatpay-nonce']}\n".encode()
    try:
        key.verify(
            base64.b64decode(headers["wechatpay-signature"]),
            message + body + b"\n",
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except Exception:
        return False
    return True


def certificate_public_key_pem(certificate_pem: str) -> str:
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    return (
        certificate.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def v2_sign(params: dict[str, str], key: str, sign_type: str = "MD5") -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    text += f"&key={key}"
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text.encode()).hexdigest().upper()


def v2_body(params: dict[str, str], key: str, sign_type: str = "MD5") -> bytes:
    params = {**params, "nonce_str": params.get("nonce_str", secrets.token_hex(8))}
    if sign_type != "MD5":
        params["sign_type"] = sign_type
    params["sign"] = v2_sign(params, key, sign_type)
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in params.items())
    return f"<xml>{inner}</xml>".encode()


def parse_v2(body: bytes, root: str = "xml") -> dict[str, str]:
    element = ElementTree.fromstring(body)  # noqa: S314  (trusted: our own emulator)
    assert element.tag == root
    return {child.tag: child.text or "" for child in element}


def v2_verify(fields: dict[str, str], key: str, sign_type: str = "MD5") -> bool:
    return fields.get("sign") == v2_sign(fields, key, sign_type)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class NotifyReceiver:
    """A merchant's notify endpoints: answers from a per-path script, records everything."""

    received: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, path: str, statuses: list[int]) -> None:
        with self.lock:
            self.scripts[path] = list(statuses)

    def of(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            path = request.url.path
            signature = request.headers.get("wechatpay-signature", "")
            if "strict" in path and signature.startswith("WECHATPAY/SIGNTEST/"):
                # What a verifying merchant does with a probe: the signature fails, answer 401.
                with self.lock:
                    self.received.append(Received(path, dict(request.headers), body, 401))
                return Response(status_code=401)
            with self.lock:
                script = self.scripts.get(path, [])
                status = script.pop(0) if len(script) > 1 else (script[0] if script else 200)
                self.received.append(Received(path, dict(request.headers), body, status))
            if status == SLOW:
                await asyncio.sleep(SLOW_SECONDS)
                status = 200
            if path.startswith("/v2"):
                if status == 200:
                    return Response(V2_SUCCESS, media_type="text/xml")
                fail = b"<xml><return_code><![CDATA[FAIL]]></return_code></xml>"
                return Response(fail, status_code=200 if status == 299 else status)
            if status == 200:
                return Response(status_code=200)
            return Response('{"code":"FAIL","message":"失败"}'.encode(), status_code=status)

        return Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])])
