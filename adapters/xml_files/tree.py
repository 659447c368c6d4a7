"""Element ⇄ dict tree conversion (the record shape mappings see).

Reading, for one element:

- no attribute and no child element: its text as a string, verbatim (``None`` when empty);
- otherwise a dict: ``"@name"`` for each attribute (local name), one key per child element (local name)
  whose value is converted the same way; a name met more than once, or listed in ``force_list``, gives a
  list in document order; text beside child elements (mixed content) is ``"#text"`` (non-blank pieces
  joined), and the text of a leaf that has attributes is ``"#text"`` too.

Namespaces are dropped (local names only). Writing is the inverse; numbers and booleans become text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from lxml import etree

from gateway.errors import SkippableRecordError

TEXT = "#text"


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


def element_to_value(element: etree._Element, force_list: Collection[str] = ()) -> Any:
    text = element.text
    attributes = element.attrib
    if not attributes:
        if not len(element):  # the common leaf: no attribute, no child of any kind
            return text or None
        node: dict[str, Any] = {}
    else:
        node = {"@" + local_name(str(name)): value for name, value in attributes.items()}
    has_children = False
    mixed = [text] if text and not text.isspace() else []
    # One pass over the children (a second one would build their lxml proxies again): entities, comments
    # and processing instructions are skipped, but the text after them still counts as mixed content.
    for child in element:
        tail = child.tail
        if tail and not tail.isspace():
            mixed.append(tail)
        tag = child.tag
        if not isinstance(tag, str):
            continue
        has_children = True
        key = tag.rpartition("}")[2] if tag[0] == "{" else tag  # local_name, inlined (hot)
        value = element_to_value(child, force_list)
        if key not in node:
            node[key] = [value] if key in force_list else value
        elif isinstance(existing := node[key], list):
            existing.append(value)
        else:
            node[key] = [existing, value]  # a name met more than once gives a list
    if has_children:
        if mixed:
            node[TEXT] = "".join(mixed)
    elif not attributes:
        return text or None
    elif text:
        node[TEXT] = text
    return node


def record_data(element: etree._Element, force_list: Collection[str] = ()) -> dict[str, Any]:
    """A record element as a dict (a leaf record becomes ``{"#text": text}``)."""
    value = element_to_value(element, force_list)
    return value if isinstance(value, dict) else {TEXT: value}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def fill_element(
    element: etree._Element, value: Any, namespace: str | None, *, record: int, path: str
) -> None:
    """Write ``value`` into ``element`` (inverse of :func:`element_to_value`)."""
    try:
        if value is None:
            return
        if not isinstance(value, Mapping):
            element.text = _text(value)
            return
        for key, item in value.items():
            if key == TEXT:
                element.text = None if item is None else _text(item)
            elif key.startswith("@"):
                element.set(key[1:], _text(item))
            else:
                for one in item if isinstance(item, list) else [item]:
                    if isinstance(one, list):
                        raise TypeError("list of lists")
                    child = etree.SubElement(element, f"{{{namespace}}}{key}" if namespace else key)
                    fill_element(child, one, namespace, record=record, path=f"{path}.{key}")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SkippableRecordError):
            raise
        reason = str(exc) if isinstance(exc, TypeError) else "name or text not allowed in XML"
        raise SkippableRecordError(
            f"cannot be written as XML ({reason})", record=record, field=path
        ) from None
