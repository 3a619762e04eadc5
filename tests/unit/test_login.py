import json
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mppay.wechatpay.errors import (
    ApiError,
    CodeBlockedError,
    InvalidCodeError,
    InvalidCredentialError,
    LoginError,
    LoginRateLimitedError,
    MalformedMessageError,
    ServerError,
    TransportError,
    WeChatPayError,
)
from mppay.wechatpay.login import LoginSession, MiniProgramLoginClient

APPID = "wx8888888888888888"
SECRET = "0123456789abcdef0123456789abcdef"
SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
CODE = "081K1xGa1Fzr8H0bm0Ja1gDBZK1K1xGi"

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(answer: Handler, seen: list[httpx.Request] | None = None) -> MiniProgramLoginClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return answer(request)

    return MiniProgramLoginClient(
        APPID, SECRET, http=httpx.AsyncClient(transport=httpx.MockTransport(handler))
    )


def json_answer(payload: dict[str, Any], status_code: int = 200) -> Handler:
    return lambda request: httpx.Response(status_code, content=json.dumps(payload).encode())


def everything_printed(error: BaseException) -> str:
    """What a log line with a traceback would show: str, repr, detail and the whole chain."""
    detail = getattr(error, "detail", None)
    return "\n".join([str(error), repr(error), repr(detail), *traceback.format_exception(error)])


async def test_a_code_is_exchanged_for_a_session() -> None:
    seen: list[httpx.Request] = []
    answer = json_answer({"openid": "oUpF8u", "session_key": SESSION_KEY, "unionid": "oU_union"})
    session = await make_client(answer, seen).code2session(CODE)
    assert session == LoginSession(openid="oUpF8u", session_key=SESSION_KEY, unionid="oU_union")
    (request,) = seen
    assert request.method == "GET"
    assert request.url.path == "/sns/jscode2session"
    assert dict(request.url.params) == {
        "appid": APPID,
        "secret": SECRET,
        "js_code": CODE,
        "grant_type": "authorization_code",
    }
    assert request.url.host == "api.weixin.qq.com"


async def test_unionid_is_none_when_the_app_is_not_bound() -> None:
    answer = json_answer({"openid": "oUpF8u", "session_key": SESSION_KEY, "errcode": 0})
    session = await make_client(answer).code2session(CODE)
    assert session.unionid is None


def test_the_session_repr_never_shows_the_session_key() -> None:
    session = LoginSession(openid="oUpF8u", session_key=SESSION_KEY, unionid=None)
    assert SESSION_KEY not in repr(session)
    assert SESSION_KEY not in str(session)
    assert "oUpF8u" in repr(session)


def test_the_client_repr_never_shows_the_secret() -> None:
    client = make_client(json_answer({}))
    assert SECRET not in repr(client)
    assert SECRET not in str(client)


@pytest.mark.parametrize(
    ("errcode", "errmsg", "error"),
    [
        (40029, "invalid code, rid: 6541f0a2-1b2c3d4e-5f6a7b8c", InvalidCodeError),
        (41008, "missing code", InvalidCodeError),
        (45011, "api minute-quota reach limit mustslower retry next minute", LoginRateLimitedError),
        (40226, "code blocked", CodeBlockedError),
        (40125, "invalid appsecret", InvalidCredentialError),
        (40013, "invalid appid", InvalidCredentialError),
        (-1, "system error", ServerError),
        (40163, "code been used", LoginError),
    ],
)
async def test_each_errcode_maps_to_its_error(
    errcode: int, errmsg: str, error: type[WeChatPayError]
) -> None:
    client = make_client(json_answer({"errcode": errcode, "errmsg": errmsg}))
    with pytest.raises(error) as caught:
        await client.code2session(CODE)
    assert type(caught.value) is error
    assert caught.value.code == str(errcode)
    assert SECRET not in everything_printed(caught.value)


async def test_the_rid_becomes_the_request_id() -> None:
    answer = json_answer({"errcode": 40029, "errmsg": "invalid code, rid: 6541f0a2-1b2c3d4e"})
    with pytest.raises(InvalidCodeError) as caught:
        await make_client(answer).code2session(CODE)
    assert caught.value.request_id == "6541f0a2-1b2c3d4e"


async def test_an_errmsg_that_echoes_the_secret_is_scrubbed() -> None:
    answer = json_answer({"errcode": 40125, "errmsg": f"invalid appsecret {SECRET}"})
    with pytest.raises(InvalidCredentialError) as caught:
        await make_client(answer).code2session(CODE)
    assert SECRET not in everything_printed(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_http_5xx_is_a_server_error(status: int) -> None:
    with pytest.raises(ServerError):
        await make_client(json_answer({}, status)).code2session(CODE)


async def test_other_http_statuses_are_api_errors() -> None:
    with pytest.raises(ApiError) as caught:
        await make_client(json_answer({}, 403)).code2session(CODE)
    assert caught.value.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"session_key": SESSION_KEY}).encode(),
        json.dumps({"openid": "", "session_key": SESSION_KEY}).encode(),
        json.dumps({"openid": "o1"}).encode(),
        json.dumps({"openid": "o1", "session_key": SESSION_KEY, "unionid": 7}).encode(),
        json.dumps({"errcode": "40029"}).encode(),
    ],
)
async def test_a_body_without_a_usable_session_is_malformed(body: bytes) -> None:
    client = make_client(lambda request: httpx.Response(200, content=body))
    with pytest.raises(MalformedMessageError) as caught:
        await client.code2session(CODE)
    assert SESSION_KEY not in everything_printed(caught.value)


async def test_a_timeout_is_a_transport_error_that_carries_no_secret() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out talking to {request.url}", request=request)

    with pytest.raises(TransportError) as caught:
        await make_client(time_out).code2session(CODE)
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None
    assert SECRET not in everything_printed(error)


async def test_a_connection_error_mentioning_the_url_does_not_leak_the_secret() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"could not connect to {request.url}", request=request)

    with pytest.raises(TransportError) as caught:
        await make_client(refuse).code2session(CODE)
    assert SECRET not in everything_printed(caught.value)
    assert "secret=" not in everything_printed(caught.value)


@pytest.mark.parametrize("code", ["", "   ", "x" * 257])
async def test_an_empty_or_absurd_code_is_refused_without_calling_wechat(code: str) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(InvalidCodeError):
        await make_client(json_answer({}), seen).code2session(code)
    assert seen == []


def test_a_client_needs_an_appid_and_a_secret() -> None:
    with pytest.raises(ValueError, match="required"):
        MiniProgramLoginClient(APPID, "")


async def test_a_client_closes_only_the_http_client_it_created() -> None:
    given = httpx.AsyncClient(transport=httpx.MockTransport(json_answer({})))
    async with MiniProgramLoginClient(APPID, SECRET, http=given):
        pass
    assert not given.is_closed
    own = MiniProgramLoginClient(APPID, SECRET)
    await own.aclose()
