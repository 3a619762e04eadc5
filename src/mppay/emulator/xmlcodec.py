"""v2 XML in and out (§4.1): a flat ``<xml>`` of fields, CDATA or bare text, parsed XXE-safe.

Parsing goes through ``defusedxml`` with DTDs, entities and external references all forbidden,
so a hostile body (billion laughs, external entity) is just "XML格式错误" and the server keeps
serving.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = ["XmlFormatError", "build_cdata_xml", "build_xml", "parse_xml"]

# Fields WeChat writes as bare numbers in its XML (the rest go in CDATA), so clients'
# parsers meet both forms as they do in production.
_BARE_SUFFIXES = ("_fee", "_count")


class XmlFormatError(ValueError):
    """The body is not a flat ``<xml>`` document (or is hostile, or not UTF-8)."""

    def __init__(self, message: str, *, not_utf8: bool = False) -> None:
        super().__init__(message)
        self.not_utf8 = not_utf8


def parse_xml(body: bytes, *, root: str = "xml") -> dict[str, str]:
    """Fields of a flat XML document; XmlFormatError on anything else.

    >>> parse_xml(b"<xml><a><![CDATA[x]]></a><b>1</b></xml>")
    {'a': 'x', 'b': '1'}
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise XmlFormatError("body is not UTF-8", not_utf8=True) from exc
    try:
        element = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise XmlFormatError(f"not well-formed XML: {type(exc).__name__}") from exc
    if element.tag != root:
        raise XmlFormatError(f"root element must be <{root}>")
    fields: dict[str, str] = {}
    for child in element:
        if len(child) or child.attrib:
            raise XmlFormatError(f"<{child.tag}> must hold text only")
        if child.tag in fields:
            raise XmlFormatError(f"<{child.tag}> appears twice")
        fields[child.tag] = child.text or ""
    return fields


def _cdata(value: str) -> str:
    # "]]>" cannot appear inside one CDATA section; split it across two.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _render(key: str, value: str) -> str:
    base = key.rstrip("0123456789").rstrip("_") if key[-1:].isdigit() else key
    if value.isdigit() and base.endswith(_BARE_SUFFIXES):
        return f"<{key}>{value}</{key}>"
    return f"<{key}>{_cdata(value)}</{key}>"


def build_xml(fields: dict[str, str], *, root: str = "xml") -> bytes:
    """Serialise fields in the given order; fee/count numbers bare, everything else CDATA."""
    inner = "".join(_render(key, value) for key, value in fields.items())
    return f"<{root}>{inner}</{root}>".encode()


def build_cdata_xml(fields: dict[str, str], *, root: str = "xml") -> bytes:
    """Every value in CDATA (the form of the decrypted v2 ``req_info``, §7.10)."""
    inner = "".join(f"<{k}>{_cdata(v)}</{k}>" for k, v in fields.items())
    return f"<{root}>{inner}</{root}>".encode()
