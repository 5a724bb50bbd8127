"""The JSON comparison against DeepDiff as the oracle, and its kinds, paths and fingerprint."""

from __future__ import annotations

import copy

from deepdiff import DeepDiff
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.compare import (
    ABSENT,
    compile_ignore,
    diff_bytes,
    diff_json,
    diff_text,
    fingerprint,
    mark,
    render_path,
    summary_kind,
)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=32),
                    st.sampled_from(["", "a", "b", "schema", "1"]))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(list("abcdef") + ["Kind", "odd key"]),
                                               children, max_size=4)),
    max_leaves=25,
)


@st.composite
def mutated_pairs(draw):
    """A value and a copy of it with random edits that keep every array's length."""
    a = draw(json_values)
    b = copy.deepcopy(a)

    def edit(node):
        if isinstance(node, dict):
            for key in list(node):
                choice = draw(st.integers(0, 9))
                if choice == 0:
                    del node[key]
                elif choice == 1:
                    node[key] = draw(json_values.filter(lambda v: not isinstance(v, list)))
                else:
                    node[key] = edit(node[key])
            if draw(st.integers(0, 5)) == 0:
                node[draw(st.sampled_from(["new", "Kind", "z"]))] = draw(scalars)
            return node
        if isinstance(node, list):
            return [edit(item) for item in node]
        return draw(scalars) if draw(st.integers(0, 3)) == 0 else node

    return a, edit(b)


def oracle(a, b) -> dict[tuple, str]:
    """DeepDiff's findings as {path: kind}, comparing arrays index by index and dicts key by
    key (DeepDiff would otherwise call two dicts with few common keys one changed value)."""
    tree = DeepDiff(a, b, zip_ordered_iterables=True, threshold_to_diff_deeper=0, view="tree")
    found = {}
    for report, levels in tree.items():
        for level in levels:
            path = tuple(level.path(output_format="list"))
            if report == "values_changed":
                kind = "value"
            elif report == "type_changes":
                kind = "shape" if isinstance(level.t1, (dict, list)) or isinstance(level.t2, (dict, list)) else "type"
            else:
                kind = "shape"
            found[path] = kind
    return found


@settings(max_examples=400, deadline=None)
@given(mutated_pairs())
def test_fast_walk_finds_exactly_what_deepdiff_finds(pair):
    a, b = pair
    ours = {d.path: d.kind for d in diff_json(a, b)}
    assert ours == oracle(a, b)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_key_order_and_whitespace_never_count(value):
    import json

    if isinstance(value, dict):
        reordered = dict(reversed(list(value.items())))
        assert diff_json(value, json.loads(json.dumps(reordered, indent=3))) == []


def test_seed_divergence_is_a_shape_difference():
    rust = {"Schema": {"field": "fingerprint", "reason": "missing — required for Phase 25 validity window"}}
    go = {"Kind": "schema", "Field": "fingerprint", "Reason": "missing — required for Phase 25 validity window"}
    diffs = diff_json(rust, go)
    assert {(d.where, d.kind) for d in diffs} == {("$.Schema", "shape"), ("$.Kind", "shape"),
                                                   ("$.Field", "shape"), ("$.Reason", "shape")}
    assert next(d for d in diffs if d.where == "$.Schema").cand is ABSENT
    assert summary_kind(diffs) == "shape"


def test_bool_against_int_is_a_type_difference_even_though_python_says_equal():
    diffs = diff_json({"ok": True, "n": 1}, {"ok": 1, "n": 1.0})
    assert {(d.where, d.kind) for d in diffs} == {("$.ok", "type"), ("$.n", "type")}


def test_nesting_that_differs_is_shape_and_a_changed_leaf_is_value():
    diffs = diff_json({"a": {"b": [1, 2]}, "c": "x"}, {"a": [1, 2], "c": "y"})
    assert {(d.where, d.kind) for d in diffs} == {("$.a", "shape"), ("$.c", "value")}


def test_an_inserted_array_item_is_one_difference_when_aligned():
    ref = {"errors": [{"code": "a"}, {"code": "b"}, {"code": "c"}]}
    cand = {"errors": [{"code": "z"}, {"code": "a"}, {"code": "b"}, {"code": "c"}]}
    diffs = diff_json(ref, cand)
    assert [(d.where, d.kind) for d in diffs] == [("$.errors[0]", "shape")]
    assert diffs[0].ref is ABSENT and diffs[0].cand == {"code": "z"}


def test_paths_render_odd_keys_quoted():
    assert render_path(("a", 0, "odd key", "b")) == '$.a[0]["odd key"].b'
    assert render_path(("a", 3, "b"), wildcard=True) == "$.a[*].b"


def test_ignore_rules_with_wildcards_cover_subtrees():
    rule = compile_ignore(["$.request_id", "$.items[*].meta"])
    diffs = mark(diff_json({"request_id": "1", "items": [{"meta": {"t": 1}, "v": 1}]},
                           {"request_id": "2", "items": [{"meta": {"t": 2}, "v": 2}]}), rule, set())
    flags = {d.where: d.ignored for d in diffs}
    assert flags == {"$.request_id": True, "$.items[0].meta.t": True, "$.items[0].v": False}
    assert summary_kind(diffs) == "value"


def test_noise_paths_are_flagged_not_counted():
    diffs = mark(diff_json({"at": 1, "v": 1}, {"at": 2, "v": 1}), None, {"$.at"})
    assert [d.noise for d in diffs] == [True]
    assert summary_kind(diffs) is None


def test_fingerprint_ignores_values_but_not_structure():
    one = fingerprint("case", diff_json({"a": 1}, {"a": 2}))
    same_structure = fingerprint("case", diff_json({"a": 5}, {"a": 7}))
    other_place = fingerprint("case", diff_json({"b": 1}, {"b": 2}))
    other_kind = fingerprint("case", diff_json({"a": 1}, {"a": "1"}))
    other_case = fingerprint("other", diff_json({"a": 1}, {"a": 2}))
    assert one == same_structure
    assert len({one, other_place, other_kind, other_case}) == 4
    assert one.startswith("sha256:")


def test_text_and_bytes():
    diffs = diff_text("a\nb\nc\n", "a\nB\nc\n")
    assert [(d.where, d.ref, d.cand) for d in diffs] == [("line 2", "b", "B")]
    assert diff_text("same", "same") == []
    assert diff_bytes(b"\x00\x01", b"\x00\x02")[0].cand.endswith("first differs at byte 1")
