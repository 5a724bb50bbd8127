"""The JSON comparison against DeepDiff as the oracle, and its kinds, paths and fingerprint."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest
from deepdiff import DeepDiff
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.parity._compare import (
    ABSENT,
    ANY_INDEX,
    ANY_KEY,
    Rules,
    Tolerance,
    compile_ignore,
    covered,
    diff_bytes,
    diff_json,
    diff_text,
    fingerprint,
    mark,
    parse_pattern,
    parse_tolerance,
    render_path,
    summary_kind,
    unordered_pairs,
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
                    out[key] = draw(json_values.filter(
                        lambda v, old=value: not isinstance(v, list) and not resized_arrays(old, v)))
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


def resized_arrays(a: Any, b: Any, path: tuple = ()) -> list[tuple]:
    """The paths at which both values hold an array and the two arrays differ in length."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [path]
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in resized_arrays(x, y, path + (i,))]
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for key in a.keys() & b.keys() for p in resized_arrays(a[key], b[key], path + (key,))]
    return []


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


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(mutated_pairs())
def test_fast_walk_finds_exactly_what_deepdiff_finds(pair):
    a, b, resized = pair
    # The oracle aligns only the arrays the edits resized: a new value put in place of an old
    # one must not resize an array at the same path behind the generator's back.
    assert sorted(map(repr, resized_arrays(a, b))) == sorted(map(repr, resized))
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


# ---- per-path rules: unordered arrays, tolerances, numbers ------------------------------------

flat_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                         st.floats(-4, 4, allow_nan=False).filter(lambda x: x != 0 or str(x) == "0.0"),
                         st.sampled_from(["", "a", "b", "1", "true"]))
items = st.one_of(flat_scalars, st.dictionaries(st.sampled_from(["id", "n", "tag"]), flat_scalars, max_size=3))


def _texts(values) -> Counter:
    return Counter(json.dumps(v, sort_keys=True) for v in values)


def _deepdiff_unmatched(a: list, b: list) -> tuple[Counter, Counter]:
    """The items DeepDiff(ignore_order=True) finds on one side only, as multisets."""
    tree = DeepDiff(a, b, ignore_order=True, report_repetition=True, cutoff_intersection_for_pairs=0, view="tree")
    removed, added = Counter(), Counter()
    for level in tree.get("iterable_item_removed", []):
        removed[json.dumps(level.t1, sort_keys=True)] += 1
    for level in tree.get("iterable_item_added", []):
        added[json.dumps(level.t2, sort_keys=True)] += 1
    for level in tree.get("repetition_change", []):
        rep = level.additional["repetition"]
        text = json.dumps(level.t1, sort_keys=True)
        if rep["new_repeat"] > rep["old_repeat"]:
            added[text] += rep["new_repeat"] - rep["old_repeat"]
        else:
            removed[text] += rep["old_repeat"] - rep["new_repeat"]
    return removed, added


@st.composite
def shuffled_pairs(draw) -> tuple[list, list]:
    """An array and a shuffled copy with items dropped, added and repeated, every object's
    keys in another order."""
    a = draw(st.lists(items, max_size=8))
    b = [reordered(x) for x in a if draw(st.integers(0, 4))]
    b += draw(st.lists(st.one_of(items, st.sampled_from(a) if a else items), max_size=3))
    return a, draw(st.permutations(b))


@settings(max_examples=200, deadline=None)  # each example asks deepdiff too: the suite's dearest unit test
@given(shuffled_pairs())
def test_unordered_arrays_are_multisets_as_deepdiff_ignore_order_finds(pair):
    a, b = parsed(pair[0]), parsed(pair[1])
    rules = Rules(unordered=("$.items",))
    diffs = diff_json({"items": a}, {"items": b}, rules)
    removed, added = _deepdiff_unmatched(a, b)
    assert (diffs == []) == (not removed and not added)
    pairs = unordered_pairs(a, b)
    key = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731
    alone = [(i, j) for i, j in pairs if i is None or j is None or key(a[i]) != key(b[j])]
    ours_removed = Counter(key(a[i]) for i, _ in alone if i is not None)
    ours_added = Counter(key(b[j]) for _, j in alone if j is not None)
    assert (ours_removed, ours_added) == (removed, added)
    # Every item is paired once at most, on each side.
    assert sorted(i for i, _ in pairs if i is not None) == list(range(len(a)))
    assert sorted(j for _, j in pairs if j is not None) == list(range(len(b)))


def test_an_unordered_array_reports_the_item_that_changed_not_the_ones_that_moved():
    ref = {"items": [{"id": 1, "price": 5}, {"id": 2, "price": 7}, {"id": 3, "price": 9}]}
    cand = {"items": [{"id": 3, "price": 9}, {"id": 1, "price": 5}, {"id": 2, "price": 8}]}
    assert {(d.where, d.kind) for d in diff_json(ref, cand)} != {("$.items[1].price", "value")}
    assert [(d.where, d.kind) for d in diff_json(ref, cand, Rules(unordered=("$.items",)))] == [
        ("$.items[1].price", "value")]
    # Only the array named: the same array elsewhere keeps its order.
    assert diff_json({"other": [1, 2]}, {"other": [2, 1]}, Rules(unordered=("$.items",))) != []


numbers_ = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(numbers_, numbers_, st.sampled_from([0.001, 0.01, 0.5, 3.0]))
def test_an_absolute_tolerance_is_deepdiffs_math_epsilon(x, y, eps):
    y = x + (y - x) / 100 if y != x and abs(y - x) > eps * 10 and x > 0 else y  # near misses too
    ours = diff_json({"price": x, "n": 1}, {"price": y, "n": 1}, Rules(tolerance={"$.price": Tolerance(eps)}))
    theirs = DeepDiff({"price": x, "n": 1}, {"price": y, "n": 1}, math_epsilon=eps)
    assert (ours == []) == (not theirs)


@settings(max_examples=400, deadline=None)
@given(st.floats(1, 1e6, allow_nan=False), st.floats(-0.05, 0.05), st.integers(1, 4),
       st.sampled_from(["a", "b"]))
def test_a_relative_tolerance_holds_what_deepdiffs_significant_digits_call_equal(x, spread, digits, key):
    """Numbers DeepDiff calls equal to `digits` digits of their scientific notation are
    within 10^-digits of each other, relatively, and within that relative tolerance ours
    are equal; numbers ours tell apart, DeepDiff never calls equal; and numbers further apart
    than the tolerance ours tell apart. (DeepDiff rounds numbers below 1 at a fixed place, so
    they are left out.)"""
    y = x * (1 + spread)
    rules = Rules(tolerance={"$.stats.*": parse_tolerance(f"{10 ** -digits * 100:g}%")})
    ours = diff_json({"stats": {key: x}}, {"stats": {key: y}}, rules)
    theirs = DeepDiff({"stats": {key: x}}, {"stats": {key: y}}, significant_digits=digits,
                      number_format_notation="e")
    if not theirs:
        assert ours == []
    if ours:
        assert theirs
    # The tolerance is a fraction of the larger number: y = x (1 + spread) is beyond it once
    # |spread| passes tolerance / (1 - tolerance): under 1.02 × tolerance for 1 % and less, and
    # the spreads drawn stay within 5 %, short of the 10 % one.
    if abs(spread) > 10 ** -digits * 1.02:
        assert ours != [], (x, y, digits)
    assert ours == [] or ours[0].where == f"$.stats.{key}"


def test_tolerances_cover_their_subtree_and_the_nearest_rule_wins():
    rules = Rules(tolerance={"$.stats": Tolerance(0.5), "$.stats.exact": Tolerance(0.0), "$.price": parse_tolerance("1%")})
    ref = {"stats": {"a": 1.0, "deep": {"b": 2.0}, "exact": 3.0}, "price": 100.0, "other": 1.0}
    cand = {"stats": {"a": 1.4, "deep": {"b": 2.3}, "exact": 3.1}, "price": 100.9, "other": 1.1}
    assert [d.where for d in diff_json(ref, cand, rules)] == ["$.stats.exact", "$.other"]
    assert diff_json({"price": 100.0}, {"price": 102.0}, rules)[0].kind == "value"
    # A tolerance is about values: strict numbers still tell an integer from a float.
    assert [d.kind for d in diff_json({"price": 100}, {"price": 100.5}, rules)] == ["type"]
    assert diff_json({"price": True}, {"price": 1}, Rules(tolerance={"$.price": Tolerance(1.0)}, numbers="numeric"))


# Quarters: DeepDiff compares numbers of two types by their text to 12 digits, so values that
# close (0 against 1e-45) are left out rather than judged.
int_or_float = st.one_of(st.integers(-5, 5), st.integers(-5, 5).map(float), st.integers(-20, 20).map(lambda n: n / 4))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list("abcde")), st.one_of(int_or_float, st.lists(int_or_float, max_size=3)),
                       max_size=5), st.data())
def test_numeric_numbers_find_what_deepdiff_ignoring_numeric_types_finds(a, data):
    def flip(value):
        if isinstance(value, list):
            return [flip(v) for v in value]
        choice = data.draw(st.integers(0, 3))
        if choice == 0:
            return float(value) if isinstance(value, int) else int(value) if value.is_integer() else value
        return data.draw(int_or_float) if choice == 1 else value

    b = {k: flip(v) for k, v in a.items()}
    ours = {d.path for d in diff_json(a, b, Rules(numbers="numeric"))}
    tree = DeepDiff(a, b, ignore_numeric_type_changes=True, view="tree")
    theirs = {tuple(level.path(output_format="list")) for levels in tree.values() for level in levels}
    assert ours == theirs
    strict = {d.path for d in diff_json(a, b)}
    assert ours <= strict


def test_numbers_strict_by_default_and_numeric_on_request():
    assert [d.kind for d in diff_json({"n": 1}, {"n": 1.0})] == ["type"]
    assert diff_json({"n": 1, "m": [2.0]}, {"n": 1.0, "m": [2]}, Rules(numbers="numeric")) == []
    assert [d.kind for d in diff_json({"n": True}, {"n": 1}, Rules(numbers="numeric"))] == ["type"]


def test_patterns_are_read_or_refused_with_where():
    assert parse_pattern('$.a[*].b.*["odd key"][2]') == ("a", ANY_INDEX, "b", ANY_KEY, "odd key", 2)
    for bad in ("a.b", "$.a..b", "$[x]"):
        try:
            parse_pattern(bad)
        except ValueError as exc:
            assert repr(bad) in str(exc)
        else:
            raise AssertionError(bad)
    assert str(parse_tolerance("1%")) == "1%" and parse_tolerance(0.5) == Tolerance(0.5)
    for bad in ("lots", -1, True, "nan"):
        try:
            parse_tolerance(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)


def test_noise_covers_a_path_and_its_subtree_only():
    noise = {"$.steps[*]", "$.fingerprint"}
    assert covered("$.steps[*].op", noise) and covered("$.steps[*]", noise) and covered("$.fingerprint", noise)
    assert not covered("$.stepsCount", noise) and not covered("$.name", noise) and not covered("$", noise)
    diffs = mark(diff_json({"steps": [1], "name": "a"}, {"steps": [1, 2], "name": "b"}), None, noise)
    assert [(d.where, d.noise) for d in diffs] == [("$.steps[1]", True), ("$.name", False)]


def test_a_class_quotes_each_path_as_one_code_span_whatever_backticks_its_keys_hold():
    """A key is the service's text: the description quotes it so that Markdown, and the page,
    read one code span per path, never a fence its own backtick closed."""
    from probes.parity._classes import classify

    description = classify(diff_json({"ok": 1}, {"a`b": 1, "``": 2})).describe()
    # A fence one backtick longer than the longest run inside: 3 around `$["``"]`, 2 around `$["a`b"]`.
    assert description == "`$.ok` absent, ```$[\"``\"]``` ``$[\"a`b\"]`` added (shape)"
