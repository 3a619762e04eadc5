"""WeChatPayV3Client: trade bills (download, gzip, digest, streaming) and platform certificates."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Literal

import httpx
import pytest

from mppay.wechatpay import errors
from mppay.wechatpay.config import MerchantConfig
from mppay.wechatpay.v3.client import WeChatPayV3Client
from mppay.wechatpay.v3.models import TradeBill
from tests import spec_vectors as v
from tests.unit.wechatpay_v3.helpers import (
    PLATFORM_PUBLIC_KEY,
    PLATFORM_SERIAL,
    PUBLIC_KEY_ID,
    FakeWeChatPay,
    at,
    certificate_list_body,
    check_authorization,
    fixed_nonces,
    make_certificate,
    make_config,
    make_prepay_request,
    other_platform_key,
    signed_headers,
)

NEW_SERIAL = "7A1F000000000000000000000000000000000002"
BILL = v.BILL_711.encode()
DOWNLOAD_URL = "https://api.mch.weixin.qq.com/v3/billdownload/file?token=6XIv5TUPto7pByrTQKhd6kwvyKLG2uY2wMMR8cNXqaA_Cv_isgaUtBzp4QtiozLO"
PREPAY_BODY = v.V3_RESPONSE_76A_BODY


def certificate_mode(**overrides: object) -> MerchantConfig:
    """A merchant that verifies with platform certificates only (no WeChat Pay public key)."""
    return make_config(wechatpay_public_key=None, wechatpay_public_key_id=None, **overrides)


def client_on(
    server: FakeWeChatPay, http: httpx.AsyncClient, config: MerchantConfig
) -> WeChatPayV3Client:
    return WeChatPayV3Client(
        config, http=http, clock=server.clock, nonce_factory=fixed_nonces("N" * 32)
    )


def trade_bill(hash_value: str = v.BILL_711_SHA1, url: str = DOWNLOAD_URL) -> TradeBill:
    return TradeBill(hash_type="SHA1", hash_value=hash_value, download_url=url)


def paths(server: FakeWeChatPay) -> list[str]:
    return [request.url.path for request in server.requests]


# --- bills -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tar_type", "query"),
    [
        ("GZIP", b"bill_date=2023-11-14&bill_type=ALL&tar_type=GZIP"),
        (None, b"bill_date=2023-11-14&bill_type=ALL"),
    ],
)
async def test_trade_bill_asks_for_the_date_type_and_compression(
    tar_type: Literal["GZIP"] | None, query: bytes
) -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/bill/tradebill",
        body={"hash_type": "SHA1", "hash_value": v.BILL_711_SHA1, "download_url": DOWNLOAD_URL},
    )
    async with server.http() as http, client_on(server, http, make_config()) as client:
        bill = await client.trade_bill(date(2023, 11, 14), tar_type=tar_type)
    assert bill == trade_bill()
    assert server.requests[0].url.raw_path == b"/v3/bill/tradebill?" + query
    check_authorization(server.requests[0])


async def test_download_bill_gunzips_checks_the_digest_and_signs_the_download_url() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("GET", "/v3/billdownload/file", body=gzip.compress(BILL), signed=False)
    async with server.http() as http, client_on(server, http, make_config()) as client:
        assert await client.download_bill(trade_bill()) == BILL
    (request,) = server.requests
    assert str(request.url) == DOWNLOAD_URL
    assert request.content == b""
    check_authorization(request)


async def test_a_plain_bill_is_returned_as_is_after_the_digest_check() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("GET", "/v3/billdownload/file", body=BILL, signed=False)
    async with server.http() as http, client_on(server, http, make_config()) as client:
        assert await client.download_bill(trade_bill()) == BILL


async def test_a_bill_with_the_wrong_hash_is_a_digest_error() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("GET", "/v3/billdownload/file", body=gzip.compress(BILL), signed=False)
    async with server.http() as http, client_on(server, http, make_config()) as client:
        with pytest.raises(errors.BillDigestError):
            await client.download_bill(trade_bill("f" * 40))


@pytest.mark.parametrize(
    "url",
    [
        "https://download.example.com/v3/billdownload/file?token=a%2Fb",
        "http://api.mch.weixin.qq.com/v3/billdownload/file?token=t",
        "https://api.mch.weixin.qq.com:8443/v3/billdownload/file?token=t",
        "https://api.mch.weixin.qq.com.example.com/v3/billdownload/file?token=t",
        "https://user@evil.example/v3/billdownload/file?token=t",
    ],
)
async def test_a_download_url_off_the_configured_base_is_refused_and_nothing_is_sent(
    url: str,
) -> None:
    sent: list[httpx.Request] = []

    def anywhere(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=BILL)

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(anywhere)) as http,
        client_on(FakeWeChatPay(at(1700000000)), http, make_config()) as client,
    ):
        with pytest.raises(errors.MalformedMessageError, match="not the configured WeChat Pay"):
            await client.download_bill(trade_bill(url=url))
        with pytest.raises(errors.MalformedMessageError, match="not the configured WeChat Pay"):
            await collect(client, trade_bill(url=url), [])
    assert sent == []


async def test_a_download_url_on_the_base_host_with_its_default_port_is_fetched() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("GET", "/v3/billdownload/file", body=BILL, signed=False)
    url = "https://API.mch.weixin.qq.com:443/v3/billdownload/file?token=a%2Fb"
    async with server.http() as http, client_on(server, http, make_config()) as client:
        assert await client.download_bill(trade_bill(url=url)) == BILL
    assert server.requests[0].url.raw_path == b"/v3/billdownload/file?token=a%2Fb"
    check_authorization(server.requests[0])


async def test_an_expired_download_url_maps_to_the_error_wechat_names() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/billdownload/file",
        status=400,
        body={"code": "INVALID_REQUEST", "message": "token已过期"},
        signed=False,
    )
    async with server.http() as http, client_on(server, http, make_config()) as client:
        with pytest.raises(errors.InvalidRequestError):
            await client.download_bill(trade_bill())


class ChunkedBody(httpx.AsyncByteStream):
    """A response body delivered in small chunks, optionally failing part-way."""

    def __init__(self, data: bytes, size: int, fail_after: int | None = None) -> None:
        self.data, self.size, self.fail_after = data, size, fail_after
        self.delivered = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.size):
            if self.fail_after is not None and start >= self.fail_after:
                raise httpx.ReadTimeout("stalled")
            self.delivered += 1
            yield self.data[start : start + self.size]


def streaming_http(body: ChunkedBody, status: int = 200) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, stream=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def collect(client: WeChatPayV3Client, bill: TradeBill, into: list[bytes]) -> None:
    async for piece in client.iter_bill(bill):
        into.append(piece)


async def test_iter_bill_streams_chunks_and_checks_the_digest_at_the_end() -> None:
    body = ChunkedBody(gzip.compress(BILL * 200), size=16)
    pieces: list[bytes] = []
    async with (
        streaming_http(body) as http,
        client_on(FakeWeChatPay(at(1)), http, make_config()) as client,
    ):
        bill = trade_bill(hashlib.sha1(BILL * 200).hexdigest())
        await collect(client, bill, pieces)
    assert b"".join(pieces) == BILL * 200
    assert body.delivered > 10


async def test_iter_bill_raises_at_the_end_when_the_digest_is_wrong() -> None:
    pieces: list[bytes] = []
    async with (
        streaming_http(ChunkedBody(gzip.compress(BILL), size=8)) as http,
        client_on(FakeWeChatPay(at(1)), http, make_config()) as client,
    ):
        with pytest.raises(errors.BillDigestError):
            await collect(client, trade_bill("0" * 40), pieces)
    assert b"".join(pieces) == BILL


async def test_iter_bill_turns_a_stalled_body_into_a_transport_error() -> None:
    async with (
        streaming_http(ChunkedBody(BILL, size=8, fail_after=16)) as http,
        client_on(FakeWeChatPay(at(1)), http, make_config()) as client,
    ):
        with pytest.raises(errors.TransportError):
            await collect(client, trade_bill(), [])


async def test_iter_bill_maps_an_error_status_before_yielding_anything() -> None:
    body = ChunkedBody('{"code":"RESOURCE_NOT_EXISTS","message":"账单不存在"}'.encode(), size=1000)
    pieces: list[bytes] = []
    async with (
        streaming_http(body, status=404) as http,
        client_on(FakeWeChatPay(at(1)), http, make_config()) as client,
    ):
        with pytest.raises(errors.ResourceNotFoundError):
            await collect(client, trade_bill(), pieces)
    assert pieces == []


# --- certificates ----------------------------------------------------------------------------


async def test_first_certificate_download_is_validated_with_the_certificates_it_contains() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate()]),
        serial=PLATFORM_SERIAL,
    )
    async with server.http() as http, client_on(server, http, certificate_mode()) as client:
        (certificate,) = await client.download_certificates()
    assert certificate.serial_no == PLATFORM_SERIAL
    assert certificate.public_key.public_numbers() == PLATFORM_PUBLIC_KEY.public_numbers()
    request = server.requests[0]
    assert "Wechatpay-Serial" not in request.headers
    check_authorization(request)


async def test_a_first_download_signed_by_a_key_it_does_not_contain_is_untrusted() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate()]),
        serial=PLATFORM_SERIAL,
        key=other_platform_key(),
    )
    async with server.http() as http, client_on(server, http, certificate_mode()) as client:
        with pytest.raises(errors.UntrustedResponseError):
            await client.download_certificates()


async def test_certificates_sealed_with_another_api_v3_key_do_not_decrypt() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate()], key="Z" * 32),
        serial=PLATFORM_SERIAL,
    )
    async with server.http() as http, client_on(server, http, certificate_mode()) as client:
        with pytest.raises(errors.DecryptionError, match=PLATFORM_SERIAL):
            await client.download_certificates()


async def test_a_certificate_whose_serial_no_is_not_its_own_is_malformed() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate()], serial_no="ABCDEF"),
        serial=PLATFORM_SERIAL,
    )
    async with server.http() as http, client_on(server, http, certificate_mode()) as client:
        with pytest.raises(errors.MalformedMessageError):
            await client.download_certificates()


async def test_once_certificates_are_held_a_download_signed_by_an_unknown_one_is_untrusted() -> (
    None
):
    new = make_certificate(key=other_platform_key(), serial=NEW_SERIAL)
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([new]),
        serial=NEW_SERIAL,
        key=other_platform_key(),
    )
    config = certificate_mode(platform_certificates=(make_certificate(),))
    async with server.http() as http, client_on(server, http, config) as client:
        with pytest.raises(errors.UntrustedResponseError):
            await client.download_certificates()
    assert server.requests[0].headers["Wechatpay-Serial"] == PLATFORM_SERIAL


async def test_a_download_signed_with_the_public_key_is_validated_with_it() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate()]),
        serial=PUBLIC_KEY_ID,
    )
    async with server.http() as http, client_on(server, http, make_config()) as client:
        (certificate,) = await client.download_certificates()
    assert certificate.serial_no == PLATFORM_SERIAL
    assert server.requests[0].headers["Wechatpay-Serial"] == PUBLIC_KEY_ID


async def test_a_certificate_mode_client_bootstraps_its_certificates_on_the_first_response() -> (
    None
):
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/pay/transactions/jsapi", body=PREPAY_BODY, serial=PLATFORM_SERIAL)
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate()]),
        serial=PLATFORM_SERIAL,
    )
    async with server.http() as http, client_on(server, http, certificate_mode()) as client:
        first = await client.prepay_jsapi(make_prepay_request())
        await client.prepay_jsapi(make_prepay_request())
    assert first.prepay_id == "wx201410272009395522657a690389285100"
    assert paths(server) == [
        "/v3/pay/transactions/jsapi",
        "/v3/certificates",
        "/v3/pay/transactions/jsapi",
    ]
    assert "Wechatpay-Serial" not in server.requests[0].headers
    assert server.requests[2].headers["Wechatpay-Serial"] == PLATFORM_SERIAL


async def test_a_rotated_certificate_is_fetched_once_and_random_serials_cannot_storm() -> None:
    new = make_certificate(key=other_platform_key(), serial=NEW_SERIAL)
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate(), new]),
        serial=PLATFORM_SERIAL,
    )
    server.reply(
        "POST",
        "/v3/pay/transactions/jsapi",
        body=PREPAY_BODY,
        serial=NEW_SERIAL,
        key=other_platform_key(),
    )
    server.reply(
        "POST",
        "/v3/pay/transactions/jsapi",
        body=PREPAY_BODY,
        serial="0123456789ABCDEF",
        key=other_platform_key(),
    )
    config = certificate_mode(platform_certificates=(make_certificate(),))
    async with server.http() as http, client_on(server, http, config) as client:
        await client.prepay_jsapi(make_prepay_request())
        for _ in range(3):
            with pytest.raises(errors.UntrustedResponseError) as caught:
                await client.prepay_jsapi(make_prepay_request())
            assert isinstance(caught.value.__cause__, errors.UnknownSerialError)
        assert client.certificate_store is not None
        assert client.certificate_store.get(NEW_SERIAL) is not None
    assert paths(server).count("/v3/certificates") == 1


async def test_a_notification_signed_by_a_new_certificate_triggers_a_download() -> None:
    timestamp = int(v.V3_NOTIFY_HEADERS_78["Wechatpay-Timestamp"])
    server = FakeWeChatPay(at(timestamp))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate()]),
        serial=PLATFORM_SERIAL,
    )
    body = v.V3_NOTIFY_BODY_78.encode()
    headers = signed_headers(body, timestamp=timestamp, serial=PLATFORM_SERIAL)
    async with server.http() as http, client_on(server, http, certificate_mode()) as client:
        event = await client.parse_notification(headers, body)
    assert event.event_type == "TRANSACTION.SUCCESS"
    assert paths(server) == ["/v3/certificates"]


async def test_without_an_api_v3_key_an_unknown_certificate_cannot_be_fetched() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/pay/transactions/jsapi", body=PREPAY_BODY, serial=PLATFORM_SERIAL)
    async with (
        server.http() as http,
        client_on(server, http, certificate_mode(api_v3_key=None)) as client,
    ):
        with pytest.raises(errors.UntrustedResponseError):
            await client.prepay_jsapi(make_prepay_request())
        with pytest.raises(errors.ConfigurationError):
            await client.download_certificates()
    assert paths(server) == ["/v3/pay/transactions/jsapi"]


async def test_the_store_refreshes_on_schedule_through_the_client() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/certificates",
        body=certificate_list_body([make_certificate()]),
        serial=PLATFORM_SERIAL,
    )
    async with server.http() as http, client_on(server, http, certificate_mode()) as client:
        store = client.certificate_store
        assert store is not None
        assert await store.refresh_if_due() is True
        assert await store.refresh_if_due() is False
        server.clock.advance(12 * 3600)
        assert await store.refresh_if_due() is True
    assert paths(server) == ["/v3/certificates", "/v3/certificates"]
