"""Mini Program login over loopback HTTP: sandbox codes and /sns/jscode2session errcodes."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from .flows import advance


def code_for(http: httpx.Client, merchant: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = http.post("/sandbox/login", json={"appid": merchant["appid"], **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def exchange(
    http: httpx.Client, merchant: dict[str, Any], code: str, **override: str
) -> httpx.Response:
    params = {
        "appid": merchant["appid"],
        "secret": merchant["app_secret"],
        "js_code": code,
        "grant_type": "authorization_code",
        **override,
    }
    return http.get("/sns/jscode2session", params={k: v for k, v in params.items() if v})


def test_a_code_is_exchanged_once_for_the_openid_and_a_session_key(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    issued = code_for(http, merchant)
    response = exchange(http, merchant, issued["code"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    answer = response.json()
    assert answer["openid"] == issued["openid"]
    assert "errcode" not in answer
    assert len(base64.b64decode(answer["session_key"])) == 16
    reused = exchange(http, merchant, issued["code"]).json()
    assert reused["errcode"] == 40029
    assert reused["errmsg"].startswith("invalid code, rid: ")


def test_without_an_openid_the_same_sandbox_user_logs_in_again(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    assert code_for(http, merchant)["openid"] == code_for(http, merchant)["openid"]
    assert code_for(http, merchant, openid="oChosenUser0001")["openid"] == "oChosenUser0001"


def test_a_code_expires_after_five_minutes_on_the_emulator_clock(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    issued = code_for(http, merchant)
    advance(http, 300)
    assert exchange(http, merchant, issued["code"]).json()["errcode"] == 40029


def test_a_wrong_secret_is_40125_and_leaves_the_code_usable(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    issued = code_for(http, merchant)
    assert exchange(http, merchant, issued["code"], secret="0" * 32).json()["errcode"] == 40125
    assert "openid" in exchange(http, merchant, issued["code"]).json()


def test_a_code_of_another_appid_is_40029(http: httpx.Client, merchant: dict[str, Any]) -> None:
    other = http.post("/sandbox/merchants").json()
    foreign = code_for(http, other)["code"]
    assert exchange(http, merchant, foreign).json()["errcode"] == 40029


@pytest.mark.parametrize(
    ("override", "errcode"),
    [
        ({"appid": "wx0000000000000000"}, 40013),
        ({"appid": ""}, 41002),
        ({"secret": ""}, 41004),
        ({"js_code": ""}, 41008),
        ({"grant_type": "client_credential"}, 40002),
    ],
)
def test_bad_parameters_have_their_errcodes(
    http: httpx.Client, merchant: dict[str, Any], override: dict[str, str], errcode: int
) -> None:
    issued = code_for(http, merchant)
    assert exchange(http, merchant, issued["code"], **override).json()["errcode"] == errcode


def test_a_blocked_user_gets_40226(http: httpx.Client, merchant: dict[str, Any]) -> None:
    issued = code_for(http, merchant, openid="oBlockedUser001", blocked=True)
    assert exchange(http, merchant, issued["code"]).json()["errcode"] == 40226


def test_more_than_a_hundred_exchanges_a_minute_for_one_user_is_45011(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    for _ in range(100):
        assert (
            "openid"
            in exchange(
                http, merchant, code_for(http, merchant, openid="oBusyUser0001")["code"]
            ).json()
        )
    limited = exchange(
        http, merchant, code_for(http, merchant, openid="oBusyUser0001")["code"]
    ).json()
    assert limited["errcode"] == 45011
    advance(http, 60)
    assert (
        "openid"
        in exchange(http, merchant, code_for(http, merchant, openid="oBusyUser0001")["code"]).json()
    )


def test_sandbox_login_refuses_unknown_appids(http: httpx.Client) -> None:
    response = http.post("/sandbox/login", json={"appid": "wx0000000000000000"})
    assert response.status_code == 400
    assert http.post("/sandbox/login", json={}).status_code == 400
