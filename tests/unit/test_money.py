import pytest

from mppay.wechatpay.money import format_yuan, parse_yuan


@pytest.mark.parametrize(
    ("text", "fen"),
    [("0.01", 1), ("19.9", 1990), ("19.90", 1990), ("12", 1200), ("-3.5", -350), (" 0.10 ", 10)],
)
def test_parse_yuan_turns_decimal_text_into_int_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["0.001", "1e2", "1,000.00", "", "abc", ".5", "1.", "--1"])
def test_parse_yuan_rejects_anything_but_two_decimal_text(text: str) -> None:
    with pytest.raises(ValueError, match="yuan"):
        parse_yuan(text)


def test_parse_yuan_rejects_floats_because_they_already_lost_precision() -> None:
    with pytest.raises(TypeError):
        parse_yuan(19.9)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (1, "0.01"), (1990, "19.90"), (-150, "-1.50")]
)
def test_format_yuan_always_shows_two_decimals(fen: int, text: str) -> None:
    assert format_yuan(fen) == text


@pytest.mark.parametrize("value", [1.5, True, "100"])
def test_format_yuan_accepts_only_int_fen(value: object) -> None:
    with pytest.raises(TypeError):
        format_yuan(value)  # type: ignore[arg-type]
