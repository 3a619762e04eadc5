"""Every fault knob of PUT /sandbox/faults, over real HTTP, seeded and deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .flows import advance, attempts, jsapi_body, login, new_no, pay_v3, v2_post
from .harness import NotifyReceiver, V3Signer, parse_v2

Receiver = tuple[NotifyReceiver, str]
JSAPI = "/v3/pay/transactions/jsapi"


@pytest.fixture(autouse=True)
def clean_faults(http: httpx.Client) -> Iterator[None]:
    yield
    assert http.delete("/sandbox/faults", auth=None).status_code == 200


def put(http: httpx.Client, **settings: Any) -> httpx.Response:
    return http.put("/sandbox/faults", json=settings, auth=None)


def test_faults_are_shown_replaced_and_cleared(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    assert put(http, seed=7, notify_drop_rate=0.5).status_code == 200
    assert put(http, mchid=merchant["mchid"], api_latency_ms=5).status_code == 200
    shown = http.get("/sandbox/faults").json()
    assert shown == {
        "global": {"seed": 7, "notify_drop_rate": 0.5},
        "merchants": {merchant["mchid"]: {"api_latency_ms": 5}},
    }
    assert (
        http.delete("/sandbox/faults", params={"mchid": merchant["mchid"]}).json()["merchants"]
        == {}
    )
    assert http.delete("/sandbox/faults").json() == {"global": {}, "merchants": {}}


@pytest.mark.parametrize(
    ("settings", "status"),
    [
        ({"notify_drop_rate": 1.5}, 400),
        ({"api_http_500_rate": 0.6, "api_http_503_rate": 0.6}, 400),
        ({"surprise": True}, 400),
        ({"notify_reorder": "yes"}, 400),
        ({"seed": "x"}, 400),
        ({"api_fault_paths": "/v3/"}, 400),
        ({"mchid": "1000000000", "seed": 1}, 404),
    ],
)
def test_bad_fault_settings_are_refused(
    http: httpx.Client, settings: dict[str, Any], status: int
) -> None:
    assert http.put("/sandbox/faults", json=settings).status_code == status


def test_a_system_error_fault_answers_each_api_family_in_its_own_words(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    put(v3, api_system_error_rate=1.0, api_fault_after_processing_rate=0.0)
    v3_answer = v3.get("/v3/certificates")
    assert v3_answer.status_code == 500
    assert v3_answer.json() == {"code": "SYSTEM_ERROR", "message": "系统错误"}
    v2_answer = parse_v2(
        v2_post(v3, "/pay/orderquery", merchant, {"out_trade_no": "ABCDEF12"}).content
    )
    assert (v2_answer["return_code"], v2_answer["err_code"]) == ("SUCCESS", "SYSTEMERROR")
    login_answer = v3.get("/sns/jscode2session", params={"appid": merchant["appid"]}, auth=None)
    assert login_answer.json()["errcode"] == -1
    assert v3.get("/sandbox/faults", auth=None).status_code == 200  # controls are never faulted


@pytest.mark.parametrize(
    ("knob", "status"), [("api_http_500_rate", 500), ("api_http_503_rate", 503)]
)
def test_http_5xx_faults(v3: httpx.Client, knob: str, status: int) -> None:
    put(v3, **{knob: 1.0})
    assert v3.get("/v3/certificates").status_code == status


def test_a_timeout_fault_leaves_the_client_waiting(v3: httpx.Client) -> None:
    put(v3, api_timeout_rate=1.0, api_timeout_seconds=0.5, api_fault_after_processing_rate=0.0)
    with pytest.raises(httpx.ReadTimeout):
        v3.get("/v3/certificates", timeout=0.1)


def test_latency_delays_but_does_not_fail(v3: httpx.Client) -> None:
    put(v3, api_latency_ms=50)
    assert v3.get("/v3/certificates").status_code == 404


@pytest.mark.parametrize(("after", "state_exists"), [(1.0, True), (0.0, False)])
def test_a_fault_after_processing_changes_state_even_though_the_answer_is_an_error(
    v3: httpx.Client, merchant: dict[str, Any], after: float, state_exists: bool
) -> None:
    openid = login(v3, merchant)
    out_trade_no = new_no()
    put(v3, api_system_error_rate=1.0, api_fault_after_processing_rate=after)
    faulted = v3.post(
        JSAPI, json=jsapi_body(merchant, out_trade_no, openid, "http://127.0.0.1:9/n")
    )
    assert faulted.status_code == 500
    v3.delete("/sandbox/faults", auth=None)
    query = v3.get(f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={merchant['mchid']}")
    assert (query.status_code == 200) is state_exists


def test_a_merchant_setting_overrides_the_global_one(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    calm = http.post("/sandbox/merchants").json()
    put(http, api_http_503_rate=1.0)
    put(http, mchid=calm["mchid"], api_http_503_rate=0.0)
    assert http.get("/v3/certificates", auth=V3Signer(merchant)).status_code == 503
    assert http.get("/v3/certificates", auth=V3Signer(calm)).status_code == 404


def test_fault_paths_limit_where_api_faults_apply(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    put(v3, api_http_500_rate=1.0, api_fault_paths=["/v3/refund/"])
    assert v3.get("/v3/certificates").status_code == 404
    assert v3.get("/v3/refund/domestic/refunds/NOPE").status_code == 500


def test_the_same_seed_gives_the_same_faults(v3: httpx.Client) -> None:
    def run() -> list[int]:
        put(v3, seed=42, api_http_500_rate=0.5)
        return [v3.get("/v3/certificates").status_code for _ in range(12)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {404, 500}


def test_a_dropped_delivery_is_recorded_and_retried_on_schedule(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    put(v3, notify_drop_rate=1.0)
    out_trade_no, _ = pay_v3(v3, merchant, f"{base}/v3/dropped")
    advance(v3, 0)
    advance(v3, 15)
    made = attempts(v3, out_trade_no=out_trade_no)
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in made] == [
        (1, "dropped", None),
        (2, "dropped", None),
    ]
    assert notify.of("/v3/dropped") == []
    v3.delete("/sandbox/faults", auth=None)
    advance(v3, 30)
    assert len(notify.of("/v3/dropped")) == 1


@pytest.mark.parametrize("concurrent", [False, True])
def test_duplicates_deliver_the_same_notification_twice(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver, concurrent: bool
) -> None:
    notify, base = receiver
    path = f"/v3/duplicated-{concurrent}"
    put(v3, notify_duplicate_rate=1.0, notify_concurrent_duplicates=concurrent)
    out_trade_no, _ = pay_v3(v3, merchant, base + path)
    advance(v3, 0)
    first, second = notify.of(path)
    assert first.body == second.body
    assert first.headers["wechatpay-signature"] == second.headers["wechatpay-signature"]
    kinds = sorted(a["kind"] for a in attempts(v3, out_trade_no=out_trade_no))
    assert kinds == ["delivery", "duplicate"]


def test_a_delay_holds_the_first_delivery_on_the_emulator_clock(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    put(v3, notify_delay_seconds=60)
    pay_v3(v3, merchant, f"{base}/v3/delayed")
    advance(v3, 59)
    assert notify.of("/v3/delayed") == []
    advance(v3, 1)
    assert len(notify.of("/v3/delayed")) == 1


def test_reorder_delivers_notifications_born_together_newest_first(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    put(v3, notify_reorder=True)
    older, _ = pay_v3(v3, merchant, f"{base}/v3/reordered")
    newer, _ = pay_v3(v3, merchant, f"{base}/v3/reordered")
    advance(v3, 0)
    assert notify.of("/v3/reordered") == []
    advance(v3, 1)
    order = [a["out_trade_no"] for a in attempts(v3) if a["url"].endswith("/v3/reordered")]
    assert order == [newer, older]


@pytest.mark.parametrize(
    ("path", "outcome"),
    [("/v3/strict-probe", "probe_rejected"), ("/v3/lax-probe", "probe_accepted")],
)
def test_signtest_probes_record_whether_the_merchant_rejected_them(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver, path: str, outcome: str
) -> None:
    notify, base = receiver
    put(v3, notify_signtest_rate=1.0)
    out_trade_no, _ = pay_v3(v3, merchant, base + path)
    advance(v3, 0)
    probe, real = notify.of(path)
    assert probe.headers["wechatpay-signature"].startswith("WECHATPAY/SIGNTEST/")
    assert probe.body == real.body
    made = attempts(v3, out_trade_no=out_trade_no)
    assert [(a["kind"], a["outcome"]) for a in made] == [
        ("signtest", outcome),
        ("delivery", "success"),
    ]
