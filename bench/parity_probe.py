"""1,000 parity cases against the twins at concurrency = 16, in one run:

- the probe (gauntlet's engine, results and raw bodies written) vs a sequential
  one-request-at-a-time httpx client over the same requests: target >= 8x faster;
- the probe vs a bare httpx gather of the same requests at the same concurrency:
  target <= 1.2x;
- the CPU a request costs a bare gather over one pool of CONCURRENCY connections and over
  CONCURRENCY clients of one connection each, lent a request at a time (what the probe
  does, probes/parity/_probe.py `Connections`): httpcore walks its pool's connections twice
  a request, so the lent ones cost about half; target: less than the pool's.

The twins run in their own process and answer after 20 ms, modelling a service that does
I/O of its own (a store lookup); without it a CPU-bound Python server would be what is
measured, not the probe.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from _util import check, cleanup, scratch, twins  # noqa: E402

from probes.config import load_config  # noqa: E402
from probes.engine import Engine, select_phases  # noqa: E402
from probes.parity._results import entries  # noqa: E402

CASES, CONCURRENCY, LATENCY_MS = 1000, 16, 20
PAYLOADS = [
    {"kind": "playbook", "fingerprint": "pb_0123456789abcdef", "endorsed": ["ops"]},
    {"kind": "playbook", "endorsed": ["ops"]},
    {"kind": "playbook", "fingerprint": "fp_0123456789abcdef", "endorsed": ["ops"]},
    {"kind": "fill", "playbook": "pb_ffffffffffffffff", "qty": 3},
]


def main() -> None:
    work = scratch("probe")
    try:
        with twins("--rust-port", "0", "--go-port", "0", "--latency-ms", str(LATENCY_MS)) as urls:
            cases = "".join(
                f'[[parity.case]]\nname = "c{i:04d}"\nmethod = "POST"\npath = "/v1/validate"\njson = {_toml_inline(PAYLOADS[i % len(PAYLOADS)])}\n'
                for i in range(CASES))
            config_path = work / "gauntlet.toml"
            config_path.write_text(f'[gauntlet]\nname = "probe bench"\nout_dir = "out"\n'
                                   f'[parity]\nreference = "rust"\nconcurrency = {CONCURRENCY}\n'
                                   f'[parity.targets]\nrust = "{urls["rust"]}"\ngo = "{urls["go"]}"\n{cases}')
            config = load_config(config_path, env={})
            requests = [(url, PAYLOADS[i % len(PAYLOADS)]) for i in range(CASES) for url in urls.values()]

            asyncio.run(bare_gather(requests[:64]))  # warm both servers' accept paths
            start = time.perf_counter()
            outcome = asyncio.run(Engine(config, select_phases(config)).run())
            probe_wall = time.perf_counter() - start
            check(outcome.verdict.verdict == "BLOCK", "the twins should diverge")
            check(sum(1 for _ in entries(outcome.run_dir)) == CASES, "not every case was probed")

            start = time.perf_counter()
            asyncio.run(bare_gather(requests))
            gather_wall = time.perf_counter() - start

            start = time.perf_counter()
            with httpx.Client(trust_env=False) as client:
                for url, payload in requests:
                    client.post(url + "/v1/validate", json=payload)
            sequential_wall = time.perf_counter() - start

            pooled_cpu = cpu_seconds(lambda: asyncio.run(bare_gather(requests)))
            lent_cpu = cpu_seconds(lambda: asyncio.run(bare_gather_lent(requests, urls.values())))

            speedup = sequential_wall / probe_wall
            over_gather = probe_wall / gather_wall
            print(f"{CASES} cases x 2 targets, twins answering after {LATENCY_MS} ms: probe {probe_wall:.2f}s, "
                  f"sequential client {sequential_wall:.2f}s, bare httpx gather {gather_wall:.2f}s")
            print(f"speedup_over_sequential={speedup:.1f}x probe_over_bare_gather={over_gather:.2f}")
            print(f"bare gather CPU a request: one pool of {CONCURRENCY} connections "
                  f"{pooled_cpu / len(requests) * 1000:.2f} ms, {CONCURRENCY} clients of one connection lent "
                  f"{lent_cpu / len(requests) * 1000:.2f} ms")
            check(speedup >= 8, f"only {speedup:.1f}x faster than sequential")
            check(lent_cpu < pooled_cpu, f"lent clients {lent_cpu:.2f}s of CPU, one pool {pooled_cpu:.2f}s")
            check(over_gather <= 1.2, f"{over_gather:.2f}x a bare gather")
    finally:
        cleanup(work)


async def bare_gather(requests) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        async def one(url, payload):
            async with gate:
                response = await client.post(url + "/v1/validate", json=payload)
                return response.content

        await asyncio.gather(*(one(u, p) for u, p in requests))


async def bare_gather_lent(requests, bases) -> None:
    """The same gather, each request on a client of one connection to its target, lent to it."""
    gate = asyncio.Semaphore(CONCURRENCY)
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = httpx.create_ssl_context(trust_env=False)
    free = {base: [httpx.AsyncClient(limits=one, verify=tls, trust_env=False) for _ in range(CONCURRENCY)]
            for base in bases}

    async def one_request(url, payload):
        async with gate:
            client = free[url].pop()
            try:
                response = await client.post(url + "/v1/validate", json=payload)
                return response.content
            finally:
                free[url].append(client)

    await asyncio.gather(*(one_request(u, p) for u, p in requests))
    for clients in free.values():
        for client in clients:
            await client.aclose()


def cpu_seconds(work) -> float:
    """This process's CPU time over `work` (the twins answer from a process of their own)."""
    start = time.process_time()
    work()
    return time.process_time() - start


def _toml_inline(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    return json.dumps(value)


if __name__ == "__main__":
    sys.exit(main())
