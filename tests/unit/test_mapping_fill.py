"""The generated fill functions: what the assignment loop did, field by field."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.mapping.expressions import Roots, compile_expression
from gateway.mapping.fill import compile_fill
from gateway.mapping.nodes import Assignment, ConstNode, FieldFailure, ListNode, RunState, ValueNode


def _value(path: str, expression: str, append: bool = False, **options: Any) -> Assignment:
    node = ValueNode(f"Person.{path}", compile_expression(expression), **options)
    return Assignment(tuple(path.split(".")), append, node)


def _fill(assignments: list[Assignment], scope: Any) -> tuple[dict[str, Any], bool]:
    out: dict[str, Any] = {}
    meaningful = compile_fill(assignments)(out, scope, RunState(Roots(record=scope)))
    return out, meaningful


def test_values_are_written_at_their_paths_and_empty_ones_skipped() -> None:
    out, meaningful = _fill(
        [
            _value("name.family", "nom"),
            _value("name.given", "prenoms", append=True),
            _value("birthDate", "naissance"),
            _value("gender", "sexe", default="unknown"),
            _value("count", "zero"),
        ],
        {"nom": "Durand", "prenoms": ["Léa", "", None, "Zoé"], "naissance": "", "zero": 0},
    )
    assert out == {"name": {"family": "Durand", "given": ["Léa", "Zoé"]}, "gender": "unknown", "count": 0}
    assert meaningful


def test_appends_extend_lists_and_objects_made_only_of_constants_are_not_meaningful() -> None:
    system = Assignment(("system",), False, ConstNode("urn:x"))
    assert _fill([system], {}) == ({"system": "urn:x"}, False)
    tags = Assignment(("tag",), True, ListNode((ConstNode("a"), ValueNode("t", compile_expression("t")))))
    out, meaningful = _fill([tags, _value("tag", "more", append=True)], {"t": "b", "more": ["c"]})
    assert out == {"tag": ["a", "b", "c"]} and meaningful


def test_a_list_of_empty_items_writes_nothing_but_its_parents() -> None:
    # What nodes.write always did: parents first, then the list without its empty items.
    out, meaningful = _fill([_value("address.line", "lignes")], {"lignes": [None, ""]})
    assert out == {"address": {}} and meaningful


def test_failures_name_the_field_not_the_value() -> None:
    with pytest.raises(FieldFailure) as failure:
        _fill([_value("name.family", "join(', ', nom)")], {"nom": {"secret": "Durand"}})
    assert failure.value.field_label == "Person.name.family"
    assert "Durand" not in str(failure.value)
    with pytest.raises(FieldFailure, match="required"):
        _fill([_value("birthDate", "naissance", required=True)], {})


def test_field_names_are_literals_in_the_generated_code() -> None:
    odd = "x'); import os; ('"
    out, _ = _fill([Assignment((odd, "b"), False, ValueNode("l", compile_expression("v")))], {"v": 1})
    assert out == {odd: {"b": 1}}
