"""The demo's 21 smokes: real checks against the twin services and the demo's own files.

Each smoke is `python3 demo_smoke.py NAME`: it prints what it checked and exits 0, or
prints what was wrong and exits 1. Standard library only, so it runs wherever the demo does.
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _demo_urls() -> tuple[str, str, str]:
    """The twins' URLs as demo.toml gives them: the ports are set in one place only."""
    config = tomllib.loads((HERE.parent / "demo.toml").read_text())
    persistent = next(s for s in config["stack"]["service"] if s["name"] == "validatord")
    targets = config["parity"]["targets"]
    return targets["rust"], targets["go"], f"http://127.0.0.1:{persistent['port']}"


RUST, GO, PERSISTENT = _demo_urls()
HAPPY = {"kind": "playbook", "fingerprint": "pb_0123456789abcdef", "endorsed": ["ops"]}
BUNDLES = ("c1_validatord", "c2_vectord_substrate", "c3_materializer", "c4_replay")
REVIEWERS = ("opus", "kimi", "qwen")


class Failed(Exception):
    pass


def call(base: str, path: str, payload: object = None, *, method: str | None = None,
         raw: bytes | None = None) -> tuple[int, object]:
    data = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except (urllib.error.URLError, OSError) as exc:
        raise Failed(f"{base}{path}: {exc}") from None


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def health(base: str) -> str:
    status, body = call(base, "/health")
    expect(status == 200 and body == {"status": "ok"}, f"{base}/health answered {status} {body}")
    return f"{base}/health ok"


def cases() -> list[dict]:
    return tomllib.loads((HERE.parent / "parity" / "validator_cases.toml").read_text())["case"]


def d1() -> str:
    return health(RUST)


def d2() -> str:
    return health(GO)


def d3() -> str:
    return health(PERSISTENT)


def d4() -> str:
    status, _ = call(RUST, "/v1/nowhere")
    expect(status == 404, f"unknown route answered {status}, expected 404")
    return "unknown routes answer 404"


def d5() -> str:
    status, _ = call(GO, "/v1/validate", method="GET")
    expect(status == 405, f"GET /v1/validate answered {status}, expected 405")
    return "GET /v1/validate answers 405"


def d6() -> str:
    gaps = tomllib.loads((HERE / "known_gaps.toml").read_text())["gap"]
    expect(all(g.get("owner") and (g.get("classes") or g.get("fingerprint")) for g in gaps),
           "a known gap lacks an owner or the divergence it covers")
    return f"{len(gaps)} known gap(s), each with an owner and the divergence classes it covers"


def g1() -> str:
    status, body = call(RUST, "/v1/validate", HAPPY)
    expect(status == 200 and body.get("valid") is True, f"rust happy path answered {status} {body}")
    return "rust accepts the happy playbook"


def g1p() -> str:
    status, body = call(GO, "/v1/validate", HAPPY)
    expect(status == 200 and body.get("valid") is True, f"go happy path answered {status} {body}")
    return "go accepts the happy playbook"


def g2() -> str:
    for base in (RUST, GO):
        status, _ = call(base, "/v1/validate", raw=b"{not json")
        expect(status == 400, f"{base} answered {status} to a body that is not JSON, expected 400")
    return "both reject a body that is not JSON with 400"


def chatd() -> str:
    for bundle in BUNDLES:
        text = (HERE / "scrum" / "diffs" / f"{bundle}.diff").read_text()
        expect(text.startswith("diff --git "), f"{bundle}.diff is not a git diff")
    return f"{len(BUNDLES)} scrum bundles are git diffs"


def downgrade() -> str:
    status, body = call(RUST, "/v1/validate", {**HAPPY, "fingerprint": "fp_0123456789abcdef"})
    expect(status == 422 and "Schema" in body, f"wrong prefix answered {status} {body}")
    return "rust rejects a wrong fingerprint prefix with 422"


def matrix() -> str:
    missing = [c["name"] for c in cases() if "expect_status" not in c]
    expect(not missing, f"cases without expect_status: {missing}")
    return f"all {len(cases())} parity cases state their expected status"


def observer() -> str:
    start = time.monotonic()
    for base in (RUST, GO):
        call(base, "/health")
    took = time.monotonic() - start
    expect(took < 0.5, f"two health checks took {took:.2f}s")
    return f"both twins answer health in {took * 1000:.0f} ms"


def pathway() -> str:
    status, body = call(GO, "/v1/validate", {"kind": "playbook", "endorsed": ["ops"]})
    expect(status == 422 and body.get("Field") == "fingerprint", f"go answered {status} {body}")
    return "go names the missing field"


def playbook() -> str:
    status, body = call(RUST, "/v1/validate", {"kind": "playbook", "endorsed": ["ops"]})
    expect(status == 422 and body.get("Schema", {}).get("field") == "fingerprint", f"rust answered {status} {body}")
    return "rust names the missing field"


def relevance() -> str:
    overfull = {**HAPPY, "endorsed": [f"e{i}" for i in range(12)]}
    for base in (RUST, GO):
        status, _ = call(base, "/v1/validate", overfull)
        expect(status == 422, f"{base} answered {status} to 12 endorsers, expected 422")
    return "both cap endorsers"


def storaged_cap() -> str:
    sizes = {b: (HERE / "scrum" / "diffs" / f"{b}.diff").stat().st_size / 1024 for b in BUNDLES}
    expect(all(kb < 100 for kb in sizes.values()), f"a bundle is over 100 KB: {sizes}")
    return "every bundle is under max_kb: " + ", ".join(f"{b} {kb:.0f} KB" for b, kb in sizes.items())


def workflow() -> str:
    for case in cases():
        statuses = {call(base, case["path"], case.get("json"))[0] for base in (RUST, GO)}
        expect(len(statuses) == 1, f"{case['name']}: the twins answer {statuses}")
    return "the twins agree on every status code"


def materializer() -> str:
    missing = [r for r in REVIEWERS if not (HERE / "scrum" / "verdicts" / "c3_materializer" / f"{r}.md").is_file()]
    expect(not missing, f"c3_materializer has no saved review from {missing}")
    return "c3_materializer has a saved review from every reviewer"


def replay() -> str:
    for bundle in BUNDLES:
        for reviewer in REVIEWERS:
            text = (HERE / "scrum" / "verdicts" / bundle / f"{reviewer}.md").read_text()
            expect("WHERE:" in text, f"{bundle}/{reviewer}.md has no WHERE line")
    return "every saved review has findings"


def validatord() -> str:
    status, body = call(PERSISTENT, "/v1/validate", HAPPY)
    expect(status == 200 and body.get("valid") is True, f"the persistent validatord answered {status} {body}")
    return f"the persistent validatord on :{PERSISTENT.rsplit(':', 1)[1]} validates"


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    check = globals().get(name)
    if not callable(check) or name.startswith("_") or name in ("main", "call", "expect", "health", "cases"):
        print(f"no smoke named {name!r}")
        return 2
    try:
        print(f"{name}: {check()}")
    except Failed as exc:
        print(f"{name}: FAILED: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
