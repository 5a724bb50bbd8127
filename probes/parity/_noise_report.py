"""What the learned noise says to people and to files: the notices a run emits when it settles,
the per-endpoint table of report.md and verdict.md, the `ignore` lines `gauntlet noise suggest`
prints, parity/noise.json written and read back, and a stored case's differences explained by
it in the diff viewer. Learning and settling the noise is _noise.py's."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import tomlkit

from ..core import UNSAFE, InputError, md_cell, neutralise
from ..core.events import NoiseEndpointRow, NoisePathRow, NoiseSettled, Notice, read_row
from ._compare import NOT_NOISE, parent_path
from ._noise import ABSENT_EVIDENCE, ENDPOINT_PATHS, ENDPOINTS, ancestors, wildcarded
from ._results import StoredDifference

NOISE_FILE = "parity/noise.json"
NOISE_ROWS = 200  # noisy paths listed in report.md and verdict.md; every one is in NOISE_FILE
NOTICE_ENDPOINTS = 3  # endpoints named one by one in a notice; beyond, one notice for them all


def noise_notices(settled: NoiseSettled) -> list[Notice]:
    """The cases whose reference answer is all noise (never a silent match), and the samples
    that taught nothing, named per endpoint while they are few."""
    return [*(Notice("parity", "warn", line) for line in _told(settled, lambda e: e.inconclusive, _inconclusive)),
            *(Notice("parity", "info", line) for line in _told(settled, lambda e: e.failed, _failed))]


def _inconclusive(n: int, where: str) -> str:
    return f"{n} case(s) of {where} inconclusive: every value the reference gives differs among its own answers"


def _failed(n: int, where: str) -> str:
    return (f"{n} noise sample(s) of {where} taught nothing: no answer, or another status or body kind "
            "than the reference's first answer")


def _truncated(n: int, where: str) -> str:
    return f"{where}: more than {ENDPOINT_PATHS} noisy paths; the rest were not learned"


def _told(settled: NoiseSettled, count: Callable[[NoiseEndpointRow], int],
          say: Callable[[int, str], str]) -> list[str]:
    """`say` for each endpoint with a count; beyond NOTICE_ENDPOINTS of them, once for them
    all (endpoints that do not template grow with the cases)."""
    hit = [(neutralise(e.endpoint), n) for e in settled.endpoints if (n := count(e))]
    if len(hit) <= NOTICE_ENDPOINTS:
        return [say(n, where) for where, n in hit]
    named = ", ".join(where for where, _ in hit[:NOTICE_ENDPOINTS])
    return [say(sum(n for _, n in hit),
                f"{len(hit):,} endpoints ({named} and {len(hit) - NOTICE_ENDPOINTS:,} more in {NOISE_FILE})")]


def noise_markdown(event: NoiseSettled | None) -> list[str]:
    """The per-endpoint noise table of report.md and verdict.md."""
    if event is None:
        return []
    lines = ["### Learned noise", ""]
    if not event.endpoints:
        return lines + ["The reference answered every sample the same way: no noise learned.", ""]
    lines += ["| Endpoint | Path | Samples that differed | The reference's own values |", "|---|---|---:|---|"]
    rows = (_row(e, p) for e in event.endpoints for p in (e.paths or (None,)))
    lines += itertools.islice(rows, NOISE_ROWS)
    left = sum(max(len(e.paths), 1) for e in event.endpoints) - NOISE_ROWS
    lines.append("")
    if left > 0:
        lines += [f"{NOISE_ROWS} rows shown; {left:,} more, and every path with its values, in `{NOISE_FILE}`.", ""]
    for told in (_told(event, lambda e: e.inconclusive, _inconclusive), _told(event, lambda e: e.failed, _failed),
                 _told(event, lambda e: int(e.truncated), _truncated)):
        lines += [f"- {md_cell(line)}" for line in told]
    if event.overflow:
        lines.append(f"- {event.overflow} case(s) of endpoints beyond the first {ENDPOINTS:,} learned from "
                     "their own samples only")
    return lines + [""]


def _row(e: NoiseEndpointRow, p: NoisePathRow | None) -> str:
    """One row of the noise table (p None: the endpoint learned no noise)."""
    where = md_cell(neutralise(e.endpoint))
    if p is None:
        return f"| {where} | (none) | 0 of {e.samples} | |"
    values = ", ".join(f"`{md_cell(v)}`" for v in p.evidence)
    return f"| {where} | `{md_cell(neutralise(p.path))}` | {p.differed} of {e.samples} | {values} |"


def suggest_ignore(event: NoiseSettled) -> list[str]:
    """`ignore` lines that make the learned noise explicit, scoped to the endpoint each path
    was learned on, to review and paste into [parity]: valid TOML whatever the paths hold,
    with nothing a terminal would act on (such characters are TOML escapes)."""
    rules = tomlkit.array()
    for e in event.endpoints:
        if not e.paths:
            continue
        rules.add_line(comment=_comment(f"{e.endpoint}: {e.samples} samples from {e.cases} case(s)"))
        if e.inconclusive:
            rules.add_line(comment=f"WARNING: {e.inconclusive} case(s) of it inconclusive (the reference's answer all "
                                   "noise):")
            rules.add_line(comment="with noise_samples = 0 these lines make them silent matches")
        maps = random_keyed(e.paths)
        for parent, count in maps.items():
            rules.add_line(comment=_comment(f"the keys under {parent} themselves differ among the reference's answers "
                                            f"({count} keys, each absent from some): not fields but data, so the "
                                            "map's wildcard rather than a line per key"))
            rules.add_line(f"{e.endpoint} {_wildcard_of(parent)}", comment=f"{count} random keys")
        for p in e.paths:
            if not _under(p.path, maps):
                rules.add_line(f"{e.endpoint} {p.path}", comment=f"differed in {p.differed} of {e.samples}")
    rules.add_line(indent="")
    document = tomlkit.document()
    document.add(tomlkit.comment("learned noise: review, then paste into [parity] (and set noise_samples = 0 "
                                 "if you wish)"))
    document["ignore"] = rules
    text = UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", tomlkit.dumps(document))
    return text.rstrip("\n").split("\n")


RANDOM_KEYS = 2  # sibling keys each absent from some of the reference's answers: a map of random keys


def random_keyed(paths: Iterable[NoisePathRow]) -> dict[str, int]:
    """The maps whose keys are themselves random (an id-keyed map, a mock's random property
    names): each parent with RANDOM_KEYS or more child keys that were absent from some of the
    reference's answers, and how many such keys. A line per key would never match again."""
    counts: dict[str, int] = {}
    for p in paths:
        split = parent_path(p.path)
        if split is not None and isinstance(split[1], str) and ABSENT_EVIDENCE in p.evidence:
            counts[split[0]] = counts.get(split[0], 0) + 1
    return {parent: n for parent, n in counts.items() if n >= RANDOM_KEYS}


def _wildcard_of(parent: str) -> str:
    return f"{parent}.*"


def _under(path: str, parents: Collection[str]) -> bool:
    """Whether `path` is a key of one of `parents` or below one."""
    return any(path.startswith(parent) and path[len(parent):][:1] in (".", "[") for parent in parents)


def _comment(text: str) -> str:
    """Outside text as one line of a TOML comment."""
    return neutralise(text).replace("\n", "\u240a")


# ---- the run's record of it --------------------------------------------------------------------

def noise_json(event: NoiseSettled) -> str:
    """parity/noise.json: the settled pool, for the diff viewer and `gauntlet noise suggest`."""
    return json.dumps({"endpoints": [asdict(e) for e in event.endpoints], "overflow": event.overflow},
                      indent=2, ensure_ascii=False) + "\n"


def read_noise(run_dir: Path) -> NoiseSettled | None:
    """The run's settled noise; None when it sampled none. Raises InputError on a damaged file."""
    path = run_dir / NOISE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        return NoiseSettled(tuple(read_row(NoiseEndpointRow, e) for e in data["endpoints"]),
                            int(data.get("overflow", 0)))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: not a learned-noise file ({type(exc).__name__}: {neutralise(str(exc))})") from None


def explain(run_dir: Path, entry: dict[str, Any], differences: list[StoredDifference]) -> list[StoredDifference]:
    """A stored case's differences, those that lie on its endpoint's settled noise (it may have
    been learned after the case landed) flagged and given their evidence: the reference's own
    values there, and in how many samples it differed."""
    settled = read_noise(run_dir)
    endpoint = entry.get("endpoint")
    row = next((e for e in settled.endpoints if e.endpoint == endpoint), None) if settled and endpoint else None
    if row is None:
        return differences
    paths = {p.path: p for p in row.paths}
    out = []
    for d in differences:
        home = None if d.kind in NOT_NOISE else next((a for a in ancestors(wildcarded(d.path)) if a in paths), None)
        if home is not None:
            noise = paths[home]
            d = replace(d, noise=True, evidence=neutralise(
                f"noise at {home}: the reference itself gave {', '.join(noise.evidence)} "
                f"(differed in {noise.differed} of {row.samples} samples)"))
        out.append(d)
    return out
