"""The emulator's OData pieces on their own: filter parsing/evaluation, ordering, skip tokens."""

from __future__ import annotations

import pytest

from sentinel_emulator import odata
from sentinel_emulator.errors import ArmError

ITEMS = [
    {"name": "a", "properties": {"n": 1, "t": "x'y", "when": "2026-01-01T00:00:00.0000001Z", "flag": True}},
    {"name": "b", "properties": {"n": 2, "t": "beta", "when": "2026-01-01T00:00:00Z", "flag": False}},
    {"name": "c", "properties": {"n": 3, "t": None, "when": "2026-01-01T01:00:00+01:00"}},
]


def names(expression: str) -> list[str]:
    predicate = odata.parse_filter(expression)
    return [i["name"] for i in ITEMS if predicate(i)]


@pytest.mark.parametrize("expression, expected", [
    ("properties/when gt 2026-01-01T00:00:00Z", ["a"]),  # 100 ns precision
    ("properties/when eq 2026-01-01T00:00:00Z", ["b", "c"]),  # +01:00 offset is the same instant
    ("properties/t eq 'x''y'", ["a"]),
    ("properties/t eq null", ["c"]),
    ("properties/t ne null and properties/n lt 3", ["a", "b"]),
    ("properties/flag eq true", ["a"]),
    ("not properties/flag eq true", ["b", "c"]),
    ("tolower(properties/t) eq 'BETA' or toupper(properties/t) eq 'BETA'", ["b"]),
    ("endswith(properties/t,'ta')", ["b"]),
    ("search.in(name, 'a c')", ["a", "c"]),
    ("properties/n gt 1.5", ["b", "c"]),
    ("properties/missing eq null", ["a", "b", "c"]),
])
def test_filter_semantics(expression, expected):
    assert names(expression) == expected


def test_filter_errors_point_at_the_problem():
    with pytest.raises(ArmError) as caught:
        odata.parse_filter("properties/n eq 1 or or")
    assert caught.value.status == 400 and "position" in caught.value.message


def test_precedence_and_binds_tighter_than_or():
    assert names("name eq 'a' or name eq 'b' and properties/n eq 3") == ["a"]


def test_skip_token_resumes_after_the_last_position():
    query = odata.ListQuery(top=1)
    order = [odata.OrderKey("properties/n", True)]
    first = odata.paginate(ITEMS, query, "https://h/x", {"api-version": "v"}, order)
    assert [i["name"] for i in first["value"]] == ["c"]
    token = first["nextLink"].split("$skipToken=")[1]
    second = odata.paginate(ITEMS, odata.ListQuery(top=1, skip_token=token), "https://h/x", {}, order)
    assert [i["name"] for i in second["value"]] == ["b"]
    with pytest.raises(ArmError):
        odata.paginate(ITEMS, odata.ListQuery(top=1, skip_token="garbage"), "https://h/x", {}, order)


def test_literal_comparisons_agree_with_the_generic_rule():
    """Given every mix of value types, comparing a property with a literal (the precomputed fast path,
    either side) answers exactly what the generic comparison answers."""
    values = [None, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00.5000000Z", "2026-01-02", "abc", "", 5, 5.5, 0,
              True, False, [1], {"a": 1}]
    literals = [None, "2026-01-01T00:00:00Z", "2026-01-02", "abc", "5", 5, 5.5, True]
    for op in ("eq", "ne", "gt", "ge", "lt", "le"):
        for literal in literals:
            for hint in (False, True):
                fast = odata._against_literal(op, lambda item: item["v"], literal, hint)
                flipped = odata._against_literal(odata._FLIPPED[op], lambda item: item["v"], literal, hint)
                for value in values:
                    assert fast({"v": value}) == odata.compare(op, value, literal, hint), (op, value, literal, hint)
                    assert flipped({"v": value}) == odata.compare(op, literal, value, hint), (op, value, literal)
