"""The browser preview of the Mini Program at ``/preview/`` (sandbox mode only).

The real ``miniprogram/`` files of the repository checkout run in the browser on
miniprogram-simulate's browser bundle, booted by ``tests/miniprogram/harness/boot.js``, with a
``wx`` shim (``preview/wx-shim.js``) that sends ``wx.request`` to this service, ``wx.login`` to
the emulator's ``/sandbox/login`` and ``wx.requestPayment`` to the emulator's cashier page.

Contract of the routes mounted by :func:`mount_preview` (none is in the OpenAPI schema):

- ``GET /preview/``: the preview page (HTML). 503 with an HTML page saying to run ``npm ci``
  when ``node_modules/miniprogram-simulate/build.js`` is missing, or saying that no checkout
  was found when the repository files are not there (an installed wheel has no checkout).
- ``GET /preview/config.js``: ``window.__MPPAY_PREVIEW__ = {...}``: the appid, the emulator
  URL, the API origin the shim rewrites (read from ``miniprogram/config.js``), and paths.
- ``GET /preview/file-map.js``: ``window.__FILE_MAP__ = {...}``, every Mini Program source
  file keyed by its path relative to ``miniprogram/``, read on each request.
- ``GET /preview/static/{name}``, ``/preview/harness/boot.js``,
  ``/preview/vendor/miniprogram-simulate.js``: the harness files.
- ``POST /preview/sandbox/login``: forwards ``{"appid", "openid"?}`` (the appid is always the
  sandbox merchant's) to the emulator's ``POST /sandbox/login`` and relays its answer. The
  browser cannot call the emulator itself: it is another origin and sends no CORS headers.
- ``GET /preview/sandbox/notifications``: the emulator's delivery log, relayed (read-only).
- ``POST /preview/sandbox/shipping/{transaction_id}/confirm``: the buyer's 确认收货 in WeChat's
  page (``wx.openBusinessView`` with ``weappOrderConfirm``), relayed to the emulator.

Only an allow-list of files is served: fixed names mapped to fixed paths, plus the regular
files found by walking ``miniprogram/`` (symlinks are not followed). No part of a request path
is ever joined to a filesystem path, so path traversal cannot reach anything else.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

__all__ = ["PreviewFiles", "mount_preview", "repo_root"]

log = logging.getLogger(__name__)

PREFIX = "/preview"
DEFAULT_API_BASE = "https://api.example.com"
# The Mini Program sources the simulate loader may read (WXML, WXSS, JS, JSON, WXS).
MINIPROGRAM_SUFFIXES = frozenset({".js", ".json", ".wxml", ".wxss", ".wxs"})
# /preview/static/{name}: exactly these files of preview/ and nothing else.
STATIC_FILES = {
    "preview.css": "text/css; charset=utf-8",
    "preview.js": "text/javascript; charset=utf-8",
    "wx-shim.js": "text/javascript; charset=utf-8",
}
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_API_BASE_RE = re.compile(r"""apiBase\s*:\s*['"]([^'"]+)['"]""")
_EMULATOR_TIMEOUT = httpx.Timeout(10.0)
_TRANSACTION_ID_RE = re.compile(r"[0-9A-Za-z]{1,32}")


def repo_root() -> Path:
    """The repository checkout this module runs from (``src/mppay/web/`` -> three up)."""
    return Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class PreviewFiles:
    """Where the preview's files live in a checkout rooted at ``root``."""

    root: Path

    @property
    def miniprogram(self) -> Path:
        return self.root / "miniprogram"

    @property
    def static_dir(self) -> Path:
        return self.root / "preview"

    @property
    def boot_js(self) -> Path:
        return self.root / "tests" / "miniprogram" / "harness" / "boot.js"

    @property
    def simulate_js(self) -> Path:
        return self.root / "node_modules" / "miniprogram-simulate" / "build.js"

    def missing_checkout(self) -> list[Path]:
        """Repository files the preview needs that are absent (npm's output excluded)."""
        needed = [self.miniprogram / "app.json", self.boot_js, self.static_dir / "index.html"]
        needed += [self.static_dir / name for name in STATIC_FILES]
        return [path for path in needed if not path.is_file()]

    def file_map(self) -> dict[str, str]:
        """Every Mini Program source file as ``{relative/path: text}`` (sorted by path)."""
        found: dict[str, str] = {}
        base = self.miniprogram
        for folder, dirs, files in os.walk(base, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                path = Path(folder) / name
                if path.suffix not in MINIPROGRAM_SUFFIXES or path.is_symlink():
                    continue
                found[path.relative_to(base).as_posix()] = path.read_text("utf-8")
        return dict(sorted(found.items()))

    def api_base(self) -> str:
        """The API origin in ``miniprogram/config.js`` (what the shim rewrites)."""
        try:
            match = _API_BASE_RE.search((self.miniprogram / "config.js").read_text("utf-8"))
        except OSError:
            return DEFAULT_API_BASE
        return match.group(1).rstrip("/") if match else DEFAULT_API_BASE


def _script(name: str, value: Any) -> str:
    # Served as JavaScript: escape "<" so the text stays inert even if pasted into HTML.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f"window.{name} = {text};\n"


def _js(text: str) -> Response:
    return Response(text, media_type="text/javascript; charset=utf-8", headers=_NO_STORE)


def _setup_page(title: str, message_html: str) -> HTMLResponse:
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mppay preview: {html.escape(title)}</title>
<style>body{{font-family:-apple-system,"Helvetica Neue",Arial,sans-serif;max-width:640px;
margin:64px auto;padding:0 16px;color:#1f1f1f;line-height:1.5}}code,pre{{background:#f3f3f3;
padding:2px 6px;border-radius:4px}}pre{{padding:12px}}h1{{font-size:22px}}</style></head>
<body data-testid="preview-setup"><h1>{html.escape(title)}</h1>{message_html}</body></html>
"""
    return HTMLResponse(page, status_code=503, headers=_NO_STORE)


def mount_preview(
    app: FastAPI,
    *,
    emulator_url: str,
    appid: str,
    api_version: str = "v3",
    root: Path | None = None,
) -> None:
    """Add the ``/preview/`` routes (see the module docstring) to ``app``.

    Call it in sandbox mode only, before the app serves: ``emulator_url`` is the in-process
    emulator's base URL and ``appid`` the sandbox merchant's Mini Program appid. ``root`` is
    the repository checkout (default: :func:`repo_root`); it is read on each request, so a
    missing ``npm ci`` can be fixed without a restart.
    """
    files = PreviewFiles(root or repo_root())
    emulator = emulator_url.rstrip("/")
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("")
    async def preview_redirect() -> Response:
        return RedirectResponse(PREFIX + "/", status_code=307)

    @router.get("/")
    async def preview_index() -> Response:
        missing = files.missing_checkout()
        if missing:
            listed = "".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in missing)
            return _setup_page(
                "The preview needs the repository checkout",
                "<p>The browser preview serves the Mini Program straight from the mppay "
                "repository, and these files are not there:</p>"
                f"<ul>{listed}</ul><p>Run <code>mppay serve --sandbox</code> from a git "
                "clone of mppay (an editable install, as <code>make run</code> does).</p>",
            )
        if not files.simulate_js.is_file():
            return _setup_page(
                "Run npm ci first",
                "<p>The preview renders the Mini Program with miniprogram-simulate, an npm "
                "development package that is not installed yet "
                f"(<code>{html.escape(str(files.simulate_js))}</code> is missing).</p>"
                f"<p>In <code>{html.escape(str(files.root))}</code> run:</p>"
                "<pre>npm ci</pre><p>then reload this page (no restart needed).</p>",
            )
        text = (files.static_dir / "index.html").read_text("utf-8")
        return HTMLResponse(text, headers=_NO_STORE)

    @router.get("/config.js")
    async def preview_config() -> Response:
        return _js(
            _script(
                "__MPPAY_PREVIEW__",
                {
                    "appid": appid,
                    "apiVersion": api_version,
                    "apiBase": files.api_base(),
                    "emulatorUrl": emulator,
                    "cashierPath": "/sandbox/cashier",
                    "loginPath": PREFIX + "/sandbox/login",
                    "deliveriesPath": PREFIX + "/sandbox/notifications",
                    "confirmReceiptPath": PREFIX + "/sandbox/shipping",
                    "deliveryLogUrl": emulator + "/sandbox/notifications",
                    "faultsUrl": emulator + "/sandbox/faults",
                    "docsPath": "/docs",
                },
            )
        )

    @router.get("/file-map.js")
    async def preview_file_map() -> Response:
        return _js(_script("__FILE_MAP__", files.file_map()))

    @router.get("/static/{name}")
    async def preview_static(name: str) -> Response:
        media_type = STATIC_FILES.get(name)
        path = files.static_dir / name if media_type is not None else None
        if path is None or not path.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(path.read_bytes(), media_type=media_type, headers=_NO_STORE)

    @router.get("/harness/boot.js")
    async def preview_boot() -> Response:
        return _js(files.boot_js.read_text("utf-8"))

    @router.get("/vendor/miniprogram-simulate.js")
    async def preview_simulate() -> Response:
        if not files.simulate_js.is_file():
            return Response("run npm ci", status_code=404, media_type="text/plain")
        return Response(
            files.simulate_js.read_bytes(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    @router.post("/sandbox/login")
    async def preview_login(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        forwarded: dict[str, Any] = {"appid": appid}
        if isinstance(body, dict) and isinstance(body.get("openid"), str) and body["openid"]:
            forwarded["openid"] = body["openid"]
        return await _relay("POST", emulator + "/sandbox/login", json_body=forwarded)

    @router.get("/sandbox/notifications")
    async def preview_deliveries(request: Request) -> Response:
        params = {
            k: v for k, v in request.query_params.items() if k in ("out_trade_no", "event_type")
        }
        return await _relay("GET", emulator + "/sandbox/notifications", params=params)

    @router.post("/sandbox/shipping/{transaction_id}/confirm")
    async def preview_confirm_receipt(transaction_id: str) -> Response:
        if not _TRANSACTION_ID_RE.fullmatch(transaction_id):
            return JSONResponse({"code": "NOT_FOUND", "message": "no such payment"}, 404)
        return await _relay("POST", f"{emulator}/sandbox/shipping/{transaction_id}/confirm")

    app.include_router(router)


async def _relay(
    method: str,
    url: str,
    *,
    json_body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> Response:
    """One call to the emulator, its JSON answer relayed with its status (502 if unreachable)."""
    try:
        async with httpx.AsyncClient(timeout=_EMULATOR_TIMEOUT) as client:
            answer = await client.request(method, url, json=json_body, params=params)
    except httpx.HTTPError as exc:
        log.warning("preview: emulator unreachable at %s: %s", url, type(exc).__name__)
        return JSONResponse(
            {"code": "EMULATOR_UNREACHABLE", "message": f"the emulator did not answer: {exc}"},
            status_code=502,
        )
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type="application/json",
        headers=_NO_STORE,
    )
