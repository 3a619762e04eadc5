"""``/preview/``: what it serves, what it refuses, and the page it shows before ``npm ci``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mppay.web.preview import STATIC_FILES, PreviewFiles, mount_preview, repo_root

APPID = "wx0123456789abcdef"


def _checkout(root: Path) -> Path:
    """A minimal repository checkout: the files the preview reads, without node_modules."""
    mp = root / "miniprogram"
    (mp / "pages" / "home").mkdir(parents=True)
    (mp / "app.json").write_text('{"pages": ["pages/home/index"]}')
    (mp / "config.js").write_text("module.exports = { apiBase: 'https://api.shop.test' }\n")
    (mp / "pages" / "home" / "index.js").write_text("Page({})\n")
    (mp / "pages" / "home" / "index.wxml").write_text("<view>home</view>\n")
    (mp / "notes.txt").write_text("not a Mini Program source file")
    (mp / ".hidden").mkdir()
    (mp / ".hidden" / "x.js").write_text("hidden")
    (root / "secret.js").write_text("TOP SECRET")
    (mp / "link.js").symlink_to(root / "secret.js")
    harness = root / "tests" / "miniprogram" / "harness"
    harness.mkdir(parents=True)
    (harness / "boot.js").write_text("// boot\n")
    static = root / "preview"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>preview</title>")
    for name in STATIC_FILES:
        (static / name).write_text(f"/* {name} */")
    (static / "extra.js").write_text("not on the allow-list")
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return _checkout(tmp_path / "repo")


def _app(root: Path, emulator_url: str = "http://127.0.0.1:9") -> FastAPI:
    app = FastAPI()
    mount_preview(app, emulator_url=emulator_url, appid=APPID, root=root)
    return app


@pytest.fixture
async def client(root: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(root))
    async with httpx.AsyncClient(transport=transport, base_url="http://preview.test") as c:
        yield c


async def test_without_npm_ci_the_page_says_to_run_it(
    root: Path, client: httpx.AsyncClient
) -> None:
    answer = await client.get("/preview/")
    assert answer.status_code == 503
    assert "npm ci" in answer.text
    assert (await client.get("/preview/vendor/miniprogram-simulate.js")).status_code == 404

    # installing the packages is enough: no restart
    bundle = root / "node_modules" / "miniprogram-simulate" / "build.js"
    bundle.parent.mkdir(parents=True)
    bundle.write_text("window.simulate = {}")
    answer = await client.get("/preview/")
    assert answer.status_code == 200
    assert "<title>preview</title>" in answer.text
    vendor = await client.get("/preview/vendor/miniprogram-simulate.js")
    assert vendor.text == "window.simulate = {}"


async def test_without_a_checkout_the_page_says_so(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=_app(tmp_path / "nothing-here"))
    async with httpx.AsyncClient(transport=transport, base_url="http://preview.test") as c:
        answer = await c.get("/preview/")
    assert answer.status_code == 503
    assert "checkout" in answer.text


async def test_preview_without_slash_redirects(client: httpx.AsyncClient) -> None:
    answer = await client.get("/preview")
    assert answer.status_code == 307
    assert answer.headers["location"] == "/preview/"


async def test_config_names_the_sandbox_and_the_api_origin_to_rewrite(
    client: httpx.AsyncClient,
) -> None:
    text = (await client.get("/preview/config.js")).text
    prefix = "window.__MPPAY_PREVIEW__ = "
    assert text.startswith(prefix)
    config = json.loads(text[len(prefix) :].rstrip().rstrip(";"))
    assert config["appid"] == APPID
    assert config["apiBase"] == "https://api.shop.test"
    assert config["emulatorUrl"] == "http://127.0.0.1:9"
    assert config["loginPath"] == "/preview/sandbox/login"


async def test_file_map_holds_mini_program_sources_only(client: httpx.AsyncClient) -> None:
    text = (await client.get("/preview/file-map.js")).text
    prefix = "window.__FILE_MAP__ = "
    files = json.loads(text[len(prefix) :].rstrip().rstrip(";"))
    assert sorted(files) == [
        "app.json",
        "config.js",
        "pages/home/index.js",
        "pages/home/index.wxml",
    ]
    assert "TOP SECRET" not in text  # the symlink out of miniprogram/ is not followed


@pytest.mark.parametrize(
    "path",
    [
        "/preview/static/extra.js",
        "/preview/static/index.html",
        "/preview/static/..%2Fsecret.js",
        "/preview/static/..%2F..%2Fsecret.js",
        "/preview/static/%2e%2e%2fsecret.js",
        "/preview/static/preview.js%00.txt",
        "/preview/harness/..%2F..%2F..%2Fsecret.js",
        "/preview/static/../../secret.js",
        "/preview/secret.js",
        "/preview/miniprogram/config.js",
    ],
)
async def test_nothing_outside_the_allow_list_is_served(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path)
    assert answer.status_code == 404
    assert "TOP SECRET" not in answer.text


async def test_allowed_static_files_are_served(client: httpx.AsyncClient) -> None:
    for name, media_type in STATIC_FILES.items():
        answer = await client.get(f"/preview/static/{name}")
        assert answer.status_code == 200
        assert answer.text == f"/* {name} */"
        assert answer.headers["content-type"] == media_type
    assert (await client.get("/preview/harness/boot.js")).text == "// boot\n"


async def test_login_relay_reports_an_unreachable_emulator(client: httpx.AsyncClient) -> None:
    answer = await client.post("/preview/sandbox/login", json={"appid": "someone-else"})
    assert answer.status_code == 502
    assert answer.json()["code"] == "EMULATOR_UNREACHABLE"


async def test_routes_stay_out_of_the_openapi_schema(root: Path) -> None:
    schema = _app(root).openapi()
    assert not [p for p in schema.get("paths", {}) if p.startswith("/preview")]


def test_the_repository_checkout_has_what_the_preview_needs() -> None:
    files = PreviewFiles(repo_root())
    assert files.missing_checkout() == []
    mapped = files.file_map()
    assert "app.json" in mapped
    assert "pages/products/index.wxml" in mapped
    assert files.api_base() == "https://api.example.com"
