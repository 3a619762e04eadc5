"""The safe codec for API v2's flat XML: ``<xml><key>value</key>...</xml>``.

WeChat Pay v2 speaks one shape only: a root element whose children each carry a text value,
usually wrapped in CDATA. Anything else is refused, and refused cheaply:

- the raw size is checked before a single byte is parsed (``XmlTooLargeError``);
- the bytes must be strict UTF-8, and an XML declaration may name no other encoding
  (``XmlSyntaxError``) -- a declared ``ISO-8859-1`` would make expat silently re-read UTF-8
  bytes as Latin-1 and change the values a signature covers;
- DTDs, entity declarations and entity references are refused before any expansion
  (``XmlForbiddenError``): a text pre-scan outside CDATA sections, then defusedxml with
  ``forbid_dtd`` / ``forbid_entities`` / ``forbid_external`` as the authoritative check;
- a wrong root, nested elements, stray text, or a key given twice is ``XmlSyntaxError``.

Values are returned verbatim (no stripping): a signature is computed over the exact values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import errors as expat_errors

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _defused_fromstring

from mppay.wechatpay.errors import XmlForbiddenError, XmlSyntaxError, XmlTooLargeError

__all__ = ["DEFAULT_MAX_BYTES", "build_xml", "parse_xml"]

DEFAULT_MAX_BYTES = 1024 * 1024
"""1 MiB: WeChat's v2 messages are a few KiB; anything near this is not from WeChat."""

_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml\b(?P<body>.*?)\?>", re.DOTALL)
_ENCODING = re.compile(rb"""\bencoding\s*=\s*["'](?P<name>[^"']{0,64})["']""")
# Markup declarations can only live in a DTD; none of them has any business in a v2 message.
_MARKUP_DECLARATION = re.compile(r"<!(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
# Characters XML 1.0 cannot carry at all, not even as character references.
_INVALID_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_UNDEFINED_ENTITY_CODE = expat_errors.codes[expat_errors.XML_ERROR_UNDEFINED_ENTITY]


def parse_xml(
    body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, root: str = "xml"
) -> dict[str, str]:
    """Parse a flat v2 XML document into ``{key: value}``.

    ``root`` names the expected root element (``"root"`` for a decrypted refund ``req_info``).
    CDATA and bare values are both accepted, whitespace between elements is ignored, an empty
    element gives ``""``, and values are kept exactly as sent.

    Raises ``XmlTooLargeError`` (more than ``max_bytes``), ``XmlForbiddenError`` (DTD, entity
    declaration or entity reference) or ``XmlSyntaxError`` (not strict UTF-8, another declared
    encoding, not well-formed, wrong root, nested elements, text outside elements, duplicate
    keys). Messages describe the problem, never the content.

    >>> parse_xml(b"<xml><return_code><![CDATA[SUCCESS]]></return_code><total_fee>1</total_fee></xml>")
    {'return_code': 'SUCCESS', 'total_fee': '1'}
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"parse_xml takes bytes, not {type(body).__name__}")
    data = bytes(body)
    if len(data) > max_bytes:
        raise XmlTooLargeError(f"XML body is {len(data)} bytes; the limit is {max_bytes}")
    if _declares_markup(_utf8_text(data)):
        raise XmlForbiddenError("XML declares a DTD or entities; refused (XXE / entity expansion)")
    element = _parse_element(data)
    return _flat_fields(element, root)


def build_xml(fields: Mapping[str, str], *, root: str = "xml") -> bytes:
    """Serialize ``fields`` as flat v2 XML (UTF-8), every value in CDATA, in the given order.

    A ``]]>`` inside a value is split across two CDATA sections, and a carriage return is
    written as ``&#13;`` because parsers normalize a raw CR (even inside CDATA) to LF, which
    would change the value WeChat signs or verifies. Raises ``ValueError`` for a key that is not
    a plain XML name, or a value holding characters XML 1.0 cannot carry (most C0 controls).

    >>> build_xml({"return_code": "SUCCESS"})
    b'<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>'
    """
    if not _NAME.fullmatch(root):
        raise ValueError(f"not a plain XML element name: {root!r}")
    parts = [f"<{root}>"]
    for key, value in fields.items():
        if not isinstance(key, str) or not _NAME.fullmatch(key):
            raise ValueError(f"not a plain XML element name: {key!r}")
        if not isinstance(value, str):
            raise TypeError(f"value of {key!r} must be str, not {type(value).__name__}")
        if _INVALID_XML_CHAR.search(value):
            raise ValueError(f"value of {key!r} holds a character XML cannot carry")
        parts.append(f"<{key}>{_cdata(value)}</{key}>")
    parts.append(f"</{root}>")
    return "".join(parts).encode("utf-8")


def _cdata(value: str) -> str:
    pieces = []
    for index, segment in enumerate(value.split("\r")):
        if index:
            pieces.append("&#13;")
        if segment:
            pieces.append("<![CDATA[" + segment.replace("]]>", "]]]]><![CDATA[>") + "]]>")
    return "".join(pieces) or "<![CDATA[]]>"


def _declares_markup(text: str) -> bool:
    """Whether a markup declaration appears outside CDATA sections, in one linear pass.

    (A regex that strips CDATA first is quadratic on a body full of unterminated ``<![CDATA[``.)
    """
    position = 0
    while (start := text.find("<!", position)) >= 0:
        if text.startswith("<![CDATA[", start):
            end = text.find("]]>", start + 9)
            if end < 0:
                return False  # unterminated CDATA: the parser refuses the document as malformed
            position = end + 3
        elif _MARKUP_DECLARATION.match(text, start):
            return True
        else:
            position = start + 2
    return False


def _utf8_text(data: bytes) -> str:
    """``data`` decoded as strict UTF-8, refusing any XML declaration of another encoding."""
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise XmlSyntaxError(
            f"XML body is not valid UTF-8 (first bad byte at {exc.start})"
        ) from None
    declaration = _DECLARATION.match(data)
    encoding = _ENCODING.search(declaration["body"]) if declaration else None
    if encoding is not None and encoding["name"].lower().replace(b"_", b"-") not in (
        b"utf-8",
        b"utf8",
    ):
        name = encoding["name"][:40].decode("ascii", errors="replace")
        raise XmlSyntaxError(f"XML declares encoding {name!r}; only UTF-8 is accepted")
    return text


def _parse_element(data: bytes) -> Element:
    try:
        element: Element = _defused_fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise XmlForbiddenError(
            f"XML uses a DTD, entity or external reference ({type(exc).__name__}); refused"
        ) from None
    except ParseError as exc:
        position = getattr(exc, "position", None)
        where = f" at line {position[0]}, column {position[1]}" if position else ""
        if getattr(exc, "code", None) == _UNDEFINED_ENTITY_CODE:
            raise XmlForbiddenError(f"XML references an undeclared entity{where}") from None
        raise XmlSyntaxError(f"XML is not well-formed{where}") from None
    return element


def _flat_fields(element: Element, root: str) -> dict[str, str]:
    if element.tag != root:
        raise XmlSyntaxError(f"XML root element must be <{root}>")
    if (element.text or "").strip():
        raise XmlSyntaxError(f"text directly inside <{root}> is not allowed")
    fields: dict[str, str] = {}
    for child in element:
        key = child.tag
        if not isinstance(key, str) or not _NAME.fullmatch(key):
            raise XmlSyntaxError("XML child element has an unexpected name")
        if len(child):
            raise XmlSyntaxError(f"<{key}> holds nested elements; v2 XML is flat")
        if (child.tail or "").strip():
            raise XmlSyntaxError(f"text after <{key}> is not allowed")
        if key in fields:
            raise XmlSyntaxError(f"<{key}> appears more than once")
        fields[key] = child.text or ""
    return fields
