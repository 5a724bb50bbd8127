"""What latency parity can tell on this machine, with the twins in processes of their own:

- the probe's own timing error: both twins answering after exactly 20 ms, each case timed
  `repeats = 30` times a twin; the p50 it reports against the true 20 ms (the error is the
  client's, the loopback's and the server's own work above the sleep);
- the smallest slowdown it detects at `repeats = 30`: the Go twin made 5 %, 10 %, … slower than
  the Rust twin's 20 ms, three cases each; the smallest factor at which all three cases are
  slower, for `max_ratio = 1.0` (the noise floor) and for the default 1.25.

A twin's sleep ends on a whole millisecond (asyncio waits in epoll, whose timeout is in
milliseconds): every delay here is a whole number of them, or the twin would not be as slow
as it is said to be.
"""

from __future__ import annotations

import asyncio
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from _util import check, cleanup, scratch, twins  # noqa: E402

from probes.config import load_config  # noqa: E402
from probes.core.events import EventBus, ParityCaseFinished  # noqa: E402
from probes.parity._latency import ALPHA  # noqa: E402
from probes.parity._probe import run_parity  # noqa: E402

TRUE_MS, BASE_MS, REPEATS, CASES = 20.0, 20.0, 30, 3
FACTORS = (1.05, 1.10, 1.15, 1.20, 1.25, 1.30, 1.35, 1.40, 1.50, 1.60)  # 21 ms, 22 ms, …
CASE = ('[[parity.case]]\nname = "{name}"\nmethod = "POST"\npath = "/v1/validate"\n'
        'json = {{ kind = "playbook", fingerprint = "pb_0123456789abcdef", endorsed = ["ops"] }}\n')


def probe(work, rust: str, go: str, cases: int) -> list[ParityCaseFinished]:
    """Every case's event of one parity run with `[parity.latency]` at max_ratio 1.0."""
    path = work / "gauntlet.toml"
    path.write_text(f'[parity]\nreference = "rust"\n[parity.targets]\nrust = "{rust}"\ngo = "{go}"\n'
                    f"[parity.latency]\nrepeats = {REPEATS}\nwarmup = 3\nmax_ratio = 1.0\n"
                    + "".join(CASE.format(name=f"c{i}") for i in range(cases)))
    bus = EventBus()
    seen: list[ParityCaseFinished] = []
    bus.subscribe(lambda t, e: seen.append(e) if isinstance(e, ParityCaseFinished) else None)
    asyncio.run(run_parity(load_config(path, env={}).parity, bus))
    return seen


def main() -> None:
    work = scratch("latency")
    try:
        with twins("--rust-port", "0", "--go-port", "0", "--latency-ms", str(TRUE_MS)) as urls:
            rows = [r for e in probe(work, urls["rust"], urls["go"], 1) for r in e.latency]
        errors = [r.p50 - TRUE_MS for r in rows if r.p50 is not None]
        check(len(errors) == 2, "the twins were not timed")
        for r in rows:
            print(f"true {TRUE_MS:.0f} ms: {r.target} reported p50 {r.p50:.2f} ms, p95 {r.p95:.2f} ms "
                  f"(+{r.p50 - TRUE_MS:.2f} ms)")

        smallest: dict[float, float | None] = {1.0: None, 1.25: None}
        with twins("--only", "rust", "--rust-port", "0", "--latency-ms", f"rust={BASE_MS}") as rust_url:
            for factor in FACTORS:
                with twins("--only", "go", "--go-port", "0", "--latency-ms", f"go={round(BASE_MS * factor)}") as go_url:
                    found = [next(r for r in e.latency if r.target == "go")
                             for e in probe(work, rust_url["rust"], go_url["go"], CASES)]
                print(f"go {factor:.2f}x slower: measured " + ", ".join(f"{r.ratio:.3f}x [{r.low:.3f}-{r.high:.3f}]"
                                                                       for r in found))
                for threshold in smallest:
                    if smallest[threshold] is None and all(
                            r.low is not None and r.low > threshold and (r.p_value or 1.0) < ALPHA for r in found):
                        smallest[threshold] = factor
                if all(v is not None for v in smallest.values()):
                    break
        shown = {t: (f"{v:.2f}x" if v else f">{FACTORS[-1]:.2f}x") for t, v in smallest.items()}
        print(f"timing_error_ms={max(errors):+.2f} timing_error_pct={max(errors) / TRUE_MS * 100:+.1f}% "
              f"smallest_slowdown_max_ratio_1.0={shown[1.0]} smallest_slowdown_max_ratio_1.25={shown[1.25]} "
              f"repeats={REPEATS}")
    finally:
        cleanup(work)


if __name__ == "__main__":
    main()
