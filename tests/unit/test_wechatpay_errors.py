import pytest

from mppay.wechatpay import errors


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("ORDERPAID", None, errors.OrderPaidError),
        ("ORDER_NOT_EXIST", 404, errors.OrderNotFoundError),
        ("SYSTEM_ERROR", 500, errors.ServerError),
        ("SYSTEMERROR", None, errors.ServerError),
        ("SIGN_ERROR", 401, errors.SignRejectedError),
        ("FREQUENCY_LIMITED", 429, errors.FrequencyLimitedError),
        (None, 502, errors.ServerError),
        (None, 503, errors.ServerError),
        ("SOMETHING_NEW", 400, errors.ApiError),
        ("SOMETHING_NEW", 500, errors.ServerError),
    ],
)
def test_error_for_picks_the_class_that_names_the_meaning(
    code: str | None, status: int | None, cls: type[errors.WeChatPayError]
) -> None:
    err = errors.error_for(code, "msg", status_code=status, request_id="rid-1")
    assert type(err) is cls
    assert err.request_id == "rid-1"
    assert err.status_code == status


def test_system_errors_are_outcome_unknown_not_refusals() -> None:
    err = errors.error_for("SYSTEM_ERROR", "系统错误", status_code=500)
    assert isinstance(err, errors.OutcomeUnknownError)
    assert not isinstance(err, errors.ApiError)


def test_an_untrusted_response_is_both_a_verification_failure_and_outcome_unknown() -> None:
    err = errors.UntrustedResponseError("bad signature on response")
    assert isinstance(err, errors.VerificationError)
    assert isinstance(err, errors.OutcomeUnknownError)


def test_str_shows_the_evidence() -> None:
    err = errors.error_for("PARAM_ERROR", "bad appid", status_code=400, request_id="abc")
    assert str(err) == "bad appid (status=400, code=PARAM_ERROR, request_id=abc)"
