"""History: what recording costs a run, and how fast `gauntlet history` answers.

- Recording a run of 1,000 parity cases and 100 smokes (the summary kept from its events
  and written to the store as it starts, at each phase's end and at its end, as the
  engine does) adds <= 50 ms to the run.
- `gauntlet history` over a store of 1,000 runs answers in < 300 ms (the whole command,
  start-up included; the baseline in the same run is `python -c pass`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from _util import GAUNTLET, check, cleanup, scratch, timed  # noqa: E402

from probes.core.events import (  # noqa: E402
    ParityCaseFinished,
    PhaseFinished,
    RunFinished,
    RunStarted,
    SmokeFinished,
)
from probes.verdict._history import RunSummary, open_store  # noqa: E402


def events(run_id: str, started: str, cases: int, smokes: int) -> list:
    out: list = [RunStarted(run_id, "bench", "gauntlet.toml", f"/runs/{run_id}", ("smokes", "parity", "verdict"), started)]
    out += [SmokeFinished(f"s{i:03d}", "Substrate", "pass", 0.5, 0, "", "", 10) for i in range(smokes)]
    out.append(PhaseFinished("smokes", True, f"{smokes}/{smokes} PASS"))
    diff = {"target": "go", "kind": "shape", "path": "$.Schema", "ref": "{}", "cand": "absent", "noise": False,
            "ignored": False}
    out += [ParityCaseFinished(f"case_{i:04d}", "rust", {"rust": 422, "go": 422}, {}, {"go": "shape"},
                               {"go": f"sha256:{i:016x}"}, True, False, (diff,)) for i in range(cases)]
    out.append(PhaseFinished("parity", True, "ok"))
    out.append(RunFinished("SHIP_WITH_KNOWN_GAP", True, 60.0, 0))
    return out


def record_run(out_dir: Path, run_id: str, started: str, cases: int, smokes: int) -> float:
    """Seconds spent on history for one run, the way the engine spends them."""
    stream = events(run_id, started, cases, smokes)
    start = time.perf_counter()
    summary = RunSummary()
    store = open_store(out_dir)
    for t, event in enumerate(stream):
        summary.apply(float(t), event)
        if isinstance(event, (RunStarted, PhaseFinished, RunFinished)):
            store.record(summary)
    store.close()
    return time.perf_counter() - start


def main() -> None:
    work = scratch("history")
    try:
        big = work / "big"
        record_run(big, "warm-up", "2026-05-01T00:00:00.000+00:00", 10, 10)
        cost = min(record_run(big, f"r{n}", f"2026-05-02T00:00:0{n}.000+00:00", 1000, 100) for n in range(3))
        many = work / "many"
        for n in range(1000):
            record_run(many, f"run-{n:04d}", f"2026-05-{1 + n // 100:02d}T{n % 24:02d}:00:00.000+00:00", 6, 21)
        baseline, _ = timed([sys.executable, "-c", "pass"])
        walls = []
        for _ in range(3):
            wall, proc = timed([*GAUNTLET, "history", str(many)])
            check(proc.returncode == 0, proc.stderr.decode())
            walls.append(wall)
        wall = min(walls)
        all_rows, proc = timed([*GAUNTLET, "history", str(many), "--last", "1000"])
        check(proc.returncode == 0, proc.stderr.decode())
        print(f"recording 1,000 parity cases and 100 smokes: {cost * 1000:.1f} ms added to the run")
        print(f"gauntlet history over 1,000 runs: {wall * 1000:.0f} ms (python start-up alone: {baseline * 1000:.0f} ms;"
              f" listing all 1,000: {all_rows * 1000:.0f} ms)")
        print(f"record_ms={cost * 1000:.1f} history_ms={wall * 1000:.0f}")
        check(cost <= 0.050, f"recording costs {cost * 1000:.1f} ms, above 50 ms")
        check(wall < 0.300, f"gauntlet history took {wall * 1000:.0f} ms, not under 300 ms")
    finally:
        cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
