"""A smoke printing 100 MB of lines: under gauntlet vs the same command redirected to a file.

Figures, in one run: the smoke's wall under gauntlet (its duration in verdict.json) over
the redirected command's wall, best of 3 each (target <= 1.3); gauntlet's peak RSS
(target <= 150 MB); the log byte-identical to the redirected file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time

from _util import GAUNTLET, check, children_peak_rss_mb, cleanup, env, scratch, timed

SIZE = 100 * 1024 * 1024
LINE = "gauntlet flood line: the quick brown fox jumps over the lazy dog 0123456789"
ROUNDS = 3


def digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    work = scratch("flood")
    try:
        producer = work / "flood_smoke.sh"
        producer.write_text(f"#!/bin/sh\nyes '{LINE}' | head -c {SIZE}\n")
        producer.chmod(0o755)
        config = work / "gauntlet.toml"
        config.write_text('[gauntlet]\nname = "flood"\nout_dir = "out"\n'
                          '[[smoke]]\nname = "flood"\nrun = "./flood_smoke.sh"\n')
        direct_best = under_best = float("inf")
        identical = True
        for round_no in range(ROUNDS):
            # Both sides write a new file each round (a new file costs more than rewriting
            # one), and both files go before the next round so the page cache starts alike.
            reference = work / f"direct-{round_no}.log"
            start = time.perf_counter()
            with open(reference, "wb") as fh:
                subprocess.run([str(producer)], stdout=fh, check=True, cwd=work)
            direct_best = min(direct_best, time.perf_counter() - start)
            _, proc = timed([*GAUNTLET, "smokes", str(config), "--headless"], env=env())
            check(proc.returncode == 0, f"gauntlet failed: {proc.stdout.decode()[-2000:]}")
            run_dir = max(p for p in (work / "out").iterdir() if p.is_dir())
            verdict = json.loads((run_dir / "verdict.json").read_text())
            under_best = min(under_best, verdict["phases"]["smokes"]["smokes"][0]["duration"])
            identical &= digest(run_dir / "smokes" / "flood.log") == digest(reference)
            reference.unlink()
            cleanup(run_dir)
        rss = children_peak_rss_mb()
        ratio = under_best / direct_best
        print(f"redirected to a file: {direct_best:.3f}s  under gauntlet: {under_best:.3f}s  "
              f"peak RSS {rss:.0f} MB  log identical: {identical}")
        print(f"flood_wall_ratio={ratio:.2f} peak_rss_mb={rss:.0f} log_identical={identical}")
        check(identical, "the log differs from the redirected output")
        check(ratio <= 1.3, f"wall ratio {ratio:.2f} is above 1.3")
        check(rss <= 150, f"peak RSS {rss:.0f} MB is above 150 MB")
    finally:
        cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
