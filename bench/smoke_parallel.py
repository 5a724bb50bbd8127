"""20 smokes of `sleep 1` at parallel = 4: the critical path is 5 s; target wall <= 5.5 s.

The wall is the smoke phase's own (first start to last finish, from verdict.json), and
the figure is its ratio to the critical path.
"""

from __future__ import annotations

import json
import sys

from _util import GAUNTLET, check, cleanup, env, scratch, timed

N, PARALLEL, SLEEP = 20, 4, 1.0


def main() -> None:
    work = scratch("parallel")
    try:
        smokes = "".join(f'[[smoke]]\nname = "s{i:02d}"\nrun = "sleep {SLEEP:g}"\n' for i in range(N))
        config = work / "gauntlet.toml"
        config.write_text(f'[gauntlet]\nname = "parallel"\nout_dir = "out"\n'
                          f'[smokes]\nparallel = {PARALLEL}\n{smokes}')
        total, proc = timed([*GAUNTLET, "smokes", str(config), "--headless"], env=env())
        check(proc.returncode == 0, f"gauntlet failed: {proc.stdout.decode()[-2000:]}")
        run_dir = next(p for p in (work / "out").iterdir() if p.is_dir())
        wall = json.loads((run_dir / "verdict.json").read_text())["phases"]["smokes"]["wall_seconds"]
        critical = N / PARALLEL * SLEEP
        print(f"{N} x sleep {SLEEP:g} at parallel={PARALLEL}: phase wall {wall:.2f}s "
              f"(command {total:.2f}s), critical path {critical:.1f}s")
        print(f"wall_over_critical_path={wall / critical:.3f} wall_s={wall:.2f}")
        check(wall <= 5.5, f"wall {wall:.2f}s is above 5.5s")
    finally:
        cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
