"""The JSON comparison against DeepDiff as the oracle, and its kinds, paths and fingerprint."""

from __future__ import annotations

import copy
import json
from typing import Any

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


def canon(value: Any) -> str:
    """A type-strict text of a JSON value: True, 1 and 1.0 are three texts."""
    return json.dumps(value)


def parsed(value: Any) -> Any:
    """The value as the probe has it: parsed from a document of its own (which decides how
    its strings are shared, and so must not change what compares equal)."""
    return json.loads(json.dumps(value))


# Items Python calls equal across types, so an alignment that is not type-strict pairs them.
lookalikes = st.sampled_from([True, 1, 1.0, False, 0, 0.0, -0.0, "1", "true"])


@st.composite
def mutated_pairs(draw) -> tuple[Any, Any, list[tuple]]:
    """A JSON value, an edited copy, and the paths of the arrays whose length the edits changed.

    Edits drop keys, add keys, give keys new values, change leaves, replace the whole value
    with one of another type, and resize arrays: fresh items inserted or items removed. A
    resized array holds distinct items and none of them is edited, so how it aligns is not
    a matter of taste; any other array keeps its length.
    """
    a = draw(json_values)
    resized: list[tuple] = []

    def resize(items: list[Any], path: tuple) -> list[Any]:
        resized.append(path)
        if items and draw(st.booleans()):
            gone = draw(st.sets(st.integers(0, len(items) - 1), min_size=1))
            return [copy.deepcopy(x) for i, x in enumerate(items) if i not in gone]
        out = copy.deepcopy(items)
        seen = {canon(x) for x in items}
        for _ in range(draw(st.integers(1, 3))):
            item = draw(st.one_of(lookalikes, json_values).filter(lambda v: canon(v) not in seen))
            seen.add(canon(item))
            out.insert(draw(st.integers(0, len(out))), item)
        return out

    def edit(node: Any, path: tuple) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                choice = draw(st.integers(0, 9))
                if choice == 1:
                    out[key] = draw(json_values.filter(lambda v: not isinstance(v, list)))
                elif choice:
                    out[key] = edit(value, path + (key,))
            extra = draw(st.sampled_from(["new", "Kind", "z"]))
            if extra not in out and draw(st.integers(0, 5)) == 0:
                out[extra] = draw(scalars)
            return out
        if isinstance(node, list):
            if len({canon(x) for x in node}) == len(node) and draw(st.integers(0, 2)) == 0:
                return resize(node, path)
            return [edit(item, path + (i,)) for i, item in enumerate(node)]
        return draw(scalars) if draw(st.integers(0, 3)) == 0 else node

    if draw(st.integers(0, 7)) == 0:
        return a, draw(json_values.filter(lambda v: type(v) is not type(a))), []
    return a, edit(a, ()), resized


def _deepdiff(a: Any, b: Any, *, align: bool) -> dict[tuple, str]:
    tree = DeepDiff(a, b, zip_ordered_iterables=not align, threshold_to_diff_deeper=0, view="tree")
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


def _at(tree: Any, path: tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def oracle(a: Any, b: Any, resized: list[tuple] = ()) -> dict[tuple, str]:
    """DeepDiff's findings as {path: kind}.

    Dicts are compared key by key (DeepDiff would otherwise call two dicts with few common
    keys one changed value) and arrays of one length item by item, as ours are. DeepDiff
    aligns (difflib) only arrays whose items are all hashable, and it matches items by `==`,
    where True == 1 == 1.0; ours aligns any array, type-strictly. So each resized array is
    handed to DeepDiff on its own, its items as their JSON texts (True, 1 and 1.0 stay three,
    a dict is one item), and stands as null in both trees for the rest.
    """
    a_rest, b_rest = copy.deepcopy(a), copy.deepcopy(b)
    for path in resized:
        if not path:
            a_rest = b_rest = None
            break
        _at(a_rest, path[:-1])[path[-1]] = _at(b_rest, path[:-1])[path[-1]] = None
    found = _deepdiff(a_rest, b_rest, align=False)
    for path in resized:
        texts = [[canon(x) for x in _at(tree, path)] for tree in (a, b)]
        found.update({path + sub: kind for sub, kind in _deepdiff(*texts, align=True).items()})
    return found


@settings(max_examples=500, deadline=None)
@given(mutated_pairs())
def test_fast_walk_finds_exactly_what_deepdiff_finds(pair):
    a, b, resized = pair
    a, b = parsed(a), parsed(b)
    ours = {d.path: d.kind for d in diff_json(a, b)}
    assert ours == oracle(a, b, resized)


def reordered(value: Any) -> Any:
    """The same value with every object's keys in reverse order, at every depth."""
    if isinstance(value, dict):
        return {k: reordered(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_key_order_and_whitespace_never_count(value):
    assert diff_json(value, json.loads(json.dumps(reordered(value), indent=3))) == []


def test_an_item_inserted_among_separately_parsed_objects_is_one_difference():
    """Equal objects from two documents are equal items, however each document shares its
    strings (here `field` is in two objects on one side and in one on the other)."""
    ref = json.loads('{"errors": [{"field": "name", "msg": "required"}, {"path": "age", "msg": "too small"}]}')
    cand = json.loads('{"errors": [{"field": "email", "msg": "bad"}, {"field": "name", "msg": "required"},'
                      ' {"path": "age", "msg": "too small"}]}')
    assert [(d.where, d.kind) for d in diff_json(ref, cand)] == [("$.errors[0]", "shape")]


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
