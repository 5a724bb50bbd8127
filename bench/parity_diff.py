"""Two ~1 MB JSON bodies with 100 changed leaves: the fast comparison vs parsing them, and
vs DeepDiff on the same pair.

Targets: comparison (paths and kinds included) / json.loads of both <= 1.0, without rules
and with per-path rules (every record's tags unordered, its score within 1%; the tags of
every tenth record reordered on the candidate's side, so the unordered comparison runs on
them: the same 100 changed paths found); the same changed paths as DeepDiff(a, b); speed-up
over DeepDiff >= 100x. Also printed, not a target: the same pair with every object's keys in another order
(a cross-runtime case).
"""

from __future__ import annotations

import json
import random
import sys
import time

from deepdiff import DeepDiff

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from _util import check  # noqa: E402

from probes.parity._compare import Rules, diff_json, parse_tolerance  # noqa: E402

CHANGES = 100
REORDERED_EVERY = 10  # records whose tags the candidate lists in another order, for the rules


def make_body(rng: random.Random) -> dict:
    records = []
    for i in range(5000):
        records.append({
            "id": f"rec-{i:06d}",
            "kind": rng.choice(["playbook", "fill", "window"]),
            "score": rng.random(),
            "count": rng.randint(0, 10_000),
            "active": rng.random() < 0.5,
            "tags": [rng.choice(["ops", "sec", "data", "ml"]) for _ in range(3)],
            "owner": {"team": rng.choice(["validatord", "vectord"]), "oncall": None,
                      "since": f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"},
        })
    return {"schema_version": 3, "records": records, "meta": {"count": len(records)}}


def mutate(body: dict, rng: random.Random) -> tuple[dict, set[tuple]]:
    other = json.loads(json.dumps(body))
    changed: set[tuple] = set()
    while len(changed) < CHANGES:
        i = rng.randrange(len(other["records"]))
        field = rng.choice(["score", "count", "kind", "id"])
        record = other["records"][i]
        record[field] = record[field] + 1 if isinstance(record[field], (int, float)) else record[field] + "x"
        changed.add(("records", i, field))
    return other, changed


def best_of(n: int, fn) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = random.Random(7)
    a = make_body(rng)
    b, changed = mutate(a, rng)
    text_a, text_b = json.dumps(a), json.dumps(b)
    print(f"bodies: {len(text_a) / 1e6:.2f} MB and {len(text_b) / 1e6:.2f} MB, {CHANGES} changed leaves")
    pa, pb = json.loads(text_a), json.loads(text_b)
    parse = best_of(7, lambda: (json.loads(text_a), json.loads(text_b)))
    compare = best_of(7, lambda: diff_json(pa, pb))
    diffs = diff_json(pa, pb)
    start = time.perf_counter()
    deep = DeepDiff(pa, pb, view="tree")
    deep_time = time.perf_counter() - start
    deep_paths = {tuple(level.path(output_format="list")) for levels in deep.values() for level in levels}
    ours = {d.path for d in diffs}
    check(ours == changed, f"found {len(ours)} paths, expected the {len(changed)} changed")
    check(ours == deep_paths, "the paths differ from DeepDiff's")
    check(all(d.kind == "value" for d in diffs), "a changed leaf was not classified as value")

    shuffled = json.loads(json.dumps(_reorder(pb)))
    reordered = best_of(3, lambda: diff_json(pa, shuffled))
    check({d.path for d in diff_json(pa, shuffled)} == changed, "key order changed the result")

    rules = Rules(unordered=("$.records[*].tags",), tolerance={"$.records[*].score": parse_tolerance("1%")})
    pr, reordered_tags = _rotate_tags(pb)
    ruled = best_of(7, lambda: diff_json(pa, pr, rules))
    # A score in [0, 1) moved by 1 is far beyond 1%, and reordered tags are the same tags: the same paths.
    check({d.path for d in diff_json(pa, pr, rules)} == changed, "the rules changed what differs")
    unruled = {d.path[:3] for d in diff_json(pa, pr)} - {p[:3] for p in changed}
    check(len({p[1] for p in unruled if p[2] == "tags"}) == reordered_tags,
          "without the rules, the reordered tags are not all told apart")

    ratio = compare / parse
    ruled_ratio = ruled / parse
    speedup = deep_time / compare
    print(f"json.loads both: {parse * 1000:.1f} ms  compare: {compare * 1000:.1f} ms  "
          f"DeepDiff: {deep_time * 1000:.0f} ms ({deep_time / parse:.0f}x parse)  "
          f"same paths as DeepDiff: True")
    print(f"(not a target) every key order reversed on one side: compare {reordered * 1000:.1f} ms "
          f"= {reordered / parse:.2f}x parse")
    print(f"with rules (unordered tags, {reordered_tags} records' tags reordered, score within 1%): "
          f"compare {ruled * 1000:.1f} ms = {ruled_ratio:.2f}x parse")
    print(f"compare_over_parse={ratio:.2f} ruled_over_parse={ruled_ratio:.2f} speedup_over_deepdiff={speedup:.0f}x")
    check(ratio <= 1.0, f"comparison/parse ratio {ratio:.2f} is above 1.0")
    check(ruled_ratio <= 1.0, f"comparison with rules/parse ratio {ruled_ratio:.2f} is above 1.0")
    check(speedup >= 100, f"speed-up over DeepDiff {speedup:.0f}x is below 100x")


def _rotate_tags(body: dict) -> tuple[dict, int]:
    """A copy with every REORDERED_EVERY-th record's tags rotated by one (an order change
    unless they are all one tag), and how many records that changed."""
    other = json.loads(json.dumps(body))
    changed = 0
    for record in other["records"][::REORDERED_EVERY]:
        tags = record["tags"]
        if len(set(tags)) > 1:
            record["tags"] = tags[1:] + tags[:1]
            changed += 1
    return other, changed


def _reorder(value):
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
