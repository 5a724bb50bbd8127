"""50 trivial smokes through `gauntlet smokes --headless` vs the same 50 in a shell loop.

Both are whole commands timed in the same run (best of 3 each), so the figure includes
gauntlet's start-up and its run directory; target: overhead <= 10 ms per smoke.
"""

from __future__ import annotations

import sys

from _util import GAUNTLET, check, cleanup, env, scratch, timed

N = 50
ROUNDS = 3


def main() -> None:
    work = scratch("overhead")
    try:
        script = work / "noop_smoke.sh"
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o755)
        smokes = "".join(f'[[smoke]]\nname = "s{i:02d}"\nrun = "./noop_smoke.sh"\n' for i in range(N))
        config = work / "gauntlet.toml"
        config.write_text(f'[gauntlet]\nname = "overhead"\nout_dir = "out"\n{smokes}')
        loop = f'for i in $(seq {N}); do ./noop_smoke.sh || break; done'
        shell_best = gauntlet_best = float("inf")
        for _ in range(ROUNDS):
            wall, proc = timed(["/bin/sh", "-c", loop], cwd=work)
            check(proc.returncode == 0, "shell loop failed")
            shell_best = min(shell_best, wall)
            wall, proc = timed([*GAUNTLET, "smokes", str(config), "--headless"], env=env())
            check(proc.returncode == 0, f"gauntlet failed: {proc.stdout.decode()[-2000:]}")
            gauntlet_best = min(gauntlet_best, wall)
        overhead_ms = (gauntlet_best - shell_best) / N * 1000
        print(f"shell loop: {shell_best:.3f}s  gauntlet: {gauntlet_best:.3f}s  "
              f"ratio {gauntlet_best / shell_best:.1f}x  for {N} smokes")
        print(f"overhead_ms_per_smoke={overhead_ms:.1f}")
        check(overhead_ms <= 10, f"overhead {overhead_ms:.1f} ms per smoke is above 10 ms")
    finally:
        cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
