"""`gauntlet merge` at scale: the four shards of CASES parity cases (streamed from a JSON Lines
file) probed against `gauntlet twins` in its own process, then merged.

The merge streams: each case once, its class and bodies as the shards recorded them. The
figure is CPU of merging the four shards of CASES over ten times the CPU of merging the four
shards of a tenth of them, in the same run: 1.0 is linear (less: the process's start-up
spread over more cases); target <= 1.5. A merge that slows as the cases add up, holding
them or searching what it kept, shows here first. Beside it, the CPU of reading the shards'
records alone (the merge reads them, writes the merged record, and judges it again from
that record, as `gauntlet verdict` would).

`python bench/merge_scale.py [CASES]` (default 20,000).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import GAUNTLET, REPO, check, cleanup, parity_project, scratch, twins  # noqa: E402

from parity_probe import PAYLOADS  # noqa: E402

from probes.core.events import read_events  # noqa: E402

SHARDS, CONCURRENCY = 4, 16


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    work = scratch("merge")
    try:
        with twins("--rust-port", "0", "--go-port", "0") as urls:
            small, small_runs = merged(work / "small", urls, cases // 10)
            large, large_runs = merged(work / "large", urls, cases)
        started = time.process_time()
        for run in large_runs:
            for _ in read_events(str(run / "events.jsonl")):
                pass
        reading = time.process_time() - started
        linear = large / (10 * small)
        print(f"merge of four shards: {cases:,} cases {large:.2f}s CPU, {cases // 10:,} cases {small:.2f}s CPU; "
              f"reading the {cases:,} cases' shard records {reading:.2f}s CPU")
        print(f"cpu_over_ten_times_a_tenth={linear:.2f}")
        check(linear <= 1.5, f"merging ten times the cases took {large / small:.1f} times the CPU")
    finally:
        cleanup(work)


def merged(work: Path, urls: dict[str, str], cases: int) -> tuple[float, list[Path]]:
    """The shards of `cases` probed side by side into `work`, then merged: the merge's seconds
    of CPU and the shards' run directories."""
    work.mkdir()
    config = parity_project(work, urls, PAYLOADS, cases, name="merge bench", concurrency=CONCURRENCY)
    shards = [subprocess.Popen([*GAUNTLET, "parity", str(config), "--shard", f"{k}/{SHARDS}", "--headless",
                                "--out", str(work / f"shard-{k}")], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
              for k in range(1, SHARDS + 1)]
    for k, proc in enumerate(shards, 1):
        _, err = proc.communicate()
        check(proc.returncode == 1, f"shard {k}: the twins should diverge: exit {proc.returncode}\n{err[-2000:]!r}")
    runs = [next(p for p in (work / f"shard-{k}").iterdir() if p.is_dir()) for k in range(1, SHARDS + 1)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([*GAUNTLET, "merge", *map(str, runs), "--out", str(work / "merged")], cwd=REPO,
                          capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    check(proc.returncode == 1, f"merge of {cases:,}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    (run,) = [p for p in (work / "merged").iterdir() if p.is_dir()]
    landed = sum(1 for _, event in read_events(str(run / "events.jsonl"))
                 if type(event).__name__ == "ParityCaseFinished")
    check(landed == cases, f"the merge of {cases:,} cases holds {landed:,}")
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, runs


if __name__ == "__main__":
    sys.exit(main())
