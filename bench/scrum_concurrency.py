"""4 bundles x 3 reviewers, each review taking 1 s at a loopback OpenAI-compatible gateway:
with concurrency = 12 the scrum's wall should be one review's, target <= 1.3 s.

Prints the phase's wall (first review started to last tally) over the slowest review.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from _util import check, cleanup, scratch  # noqa: E402

from probes.config import load_config  # noqa: E402
from probes.engine import Engine, select_phases  # noqa: E402
from probes.core.events import EventBus, PhaseFinished, PhaseStarted, ReviewFinished, ReviewStarted  # noqa: E402
from tests.fixtures.openai_server import FakeGateway  # noqa: E402
from tests.unit.test_tally import DIFF  # noqa: E402 - the diff the tally's tests review

BUNDLES, REVIEWERS, LATENCY = 4, 3, 1.0


def main() -> None:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    gateway = FakeGateway(latency=LATENCY)
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(gateway.handle, "127.0.0.1", 0), loop).result()
    port = server.sockets[0].getsockname()[1]
    work = scratch("scrum")
    try:
        bundles = ""
        for i in range(BUNDLES):
            (work / f"b{i}.diff").write_text(DIFF)
            bundles += f'[[scrum.bundle]]\nname = "b{i}"\ndiff = "b{i}.diff"\n'
        reviewers = "".join(f'[[scrum.reviewer]]\nname = "r{j}"\nlineage = "l{j}"\nkind = "openai"\nmodel = "slow:{j}"\n'
                            for j in range(REVIEWERS))
        config_path = work / "gauntlet.toml"
        config_path.write_text(f'[gauntlet]\nname = "scrum bench"\nout_dir = "out"\n'
                               f'[scrum]\ngateway = "http://127.0.0.1:{port}/v1"\nconcurrency = {BUNDLES * REVIEWERS}\n'
                               f'{bundles}{reviewers}')
        config = load_config(config_path, env={})
        bus = EventBus()
        marks: dict[str, float] = {}
        reviews: dict[tuple[str, str], float] = {}

        def watch(t: float, e) -> None:
            if isinstance(e, PhaseStarted) and e.phase == "scrum":
                marks["start"] = time.perf_counter()
            elif isinstance(e, PhaseFinished) and e.phase == "scrum":
                marks["end"] = time.perf_counter()
            elif isinstance(e, ReviewStarted):
                reviews[(e.bundle, e.reviewer)] = time.perf_counter()
            elif isinstance(e, ReviewFinished):
                check(e.status == "ok", f"review {e.bundle}/{e.reviewer}: {e.status} {e.error}")
                reviews[(e.bundle, e.reviewer)] = time.perf_counter() - reviews[(e.bundle, e.reviewer)]

        bus.subscribe(watch)
        asyncio.run(Engine(config, select_phases(config), bus=bus).run())
        wall = marks["end"] - marks["start"]
        slowest = max(reviews.values())
        print(f"{BUNDLES} bundles x {REVIEWERS} reviewers, each review {LATENCY:g}s at the gateway: "
              f"scrum wall {wall:.2f}s, slowest review {slowest:.2f}s")
        print(f"wall_over_slowest_review={wall / slowest:.2f} wall_s={wall:.2f}")
        check(len(reviews) == BUNDLES * REVIEWERS, "not every review ran")
        check(wall <= 1.3, f"wall {wall:.2f}s is above 1.3s")
    finally:
        cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
