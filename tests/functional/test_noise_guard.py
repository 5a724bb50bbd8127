"""What learned noise must never do: learn from a sample that is not the same kind of answer,
judge text bodies otherwise once settled than as they land, grow its tables with the cases,
or pass a server's text to a terminal or a TOML file unescaped. Real loopback servers, real
subprocesses, real run directories."""

from __future__ import annotations

import json
import time
import tomllib
import uuid
from collections import Counter

import pytest

from probes.core.events import NoiseEndpointRow, NoisePathRow, NoiseSettled, Notice, ParityCaseFinished
from probes.parity._noise_report import NOISE_FILE, NOISE_ROWS, NOTICE_ENDPOINTS, noise_markdown, noise_notices, read_noise
from probes.parity._sidebyside import load_case
from probes.core._textsafe import UNSAFE

from ..conftest import only_run
from .test_noise import FIFTY, PLAYBOOK_CASE, fixed, run
from .test_noise_settled import gauntlet

ANSWER = {"id": "pb_5", "name": "nightly", "owner": "sre"}


def first_answer_then(status: int, content_type: str, body: bytes):
    """A reference that answers each path properly once, then otherwise: its noise samples
    come back as a 429 `{"error": …}`, or as a maintenance page in text."""
    asked: Counter[str] = Counter()

    async def handle(method, path, headers, _body):
        asked[path] += 1
        if asked[path] == 1:
            return 200, {"Content-Type": "application/json"}, json.dumps(ANSWER).encode()
        return status, {"Content-Type": content_type}, body

    return handle


@pytest.mark.parametrize("status, content_type, body", [
    (429, "application/json", b'{"error": "slow down", "retry_after": 1}'),
    (200, "text/plain", b"down for maintenance"),
], ids=["another-status", "another-body-kind"])
def test_a_sample_unlike_the_first_answer_teaches_no_noise_and_is_told_as_failed(servers, parity_config, tmp_path,
                                                                                 status, content_type, body):
    ref = servers.serve_http(first_answer_then(status, content_type, body))
    cand = servers.serve_http(fixed({**ANSWER, "name": "hourly"}))  # a real divergence, at `$.name`
    outcome, seen = run(parity_config, ref, cand, PLAYBOOK_CASE, "noise_samples = 2")
    case = next(e for e in seen if isinstance(e, ParityCaseFinished))
    assert case.kinds == {"cand": "value"} and not case.noise
    assert outcome.verdict.verdict == "BLOCK", outcome.verdict.reasons
    settled = next(e for e in seen if isinstance(e, NoiseSettled))
    (endpoint,) = settled.endpoints
    assert (endpoint.samples, endpoint.failed, endpoint.paths) == (0, 2, ())
    notices = [e.message for e in seen if isinstance(e, Notice)]
    told = "2 noise sample(s) of GET /v1/playbooks/{n} taught nothing: no answer, or another status or body kind"
    assert any(m.startswith(told) for m in notices), notices
    run_dir = only_run(tmp_path / "out")
    assert told in (run_dir / "parity" / "report.md").read_text()
    assert read_noise(run_dir) == settled


def ticking_text(period: int):
    """A text reference whose `tick` line moves on every `period` answers (see `ticking`)."""
    count = iter(range(10**6))

    async def handle(method, path, headers, body):
        text = f"id {path.rsplit('/', 1)[-1]}\ntick {next(count) // period}\n"
        return 200, {"Content-Type": "text/plain"}, text.encode()

    return handle


def test_settled_text_noise_flags_the_early_cases_lines_as_the_live_marking_does(servers, parity_config, tmp_path):
    async def candidate(method, path, headers, body):
        return 200, {"Content-Type": "text/plain"}, f"id {path.rsplit('/', 1)[-1]}\ntick -1\n".encode()

    _, seen = run(parity_config, servers.serve_http(ticking_text(7)), servers.serve_http(candidate), FIFTY,
                  "noise_samples = 1")
    landed = [e for e in seen if isinstance(e, ParityCaseFinished)]
    # The first cases landed before the pool knew `line 2`; the later ones were marked noise.
    assert [e.kinds["cand"] for e in landed[:3]] == ["value"] * 3
    assert all(e.kinds["cand"] is None for e in landed[3:])
    assert all(d.noise for e in landed[3:] for d in e.diffs if d.path == "line 2")
    settled = next(e for e in seen if isinstance(e, NoiseSettled))
    assert [(p.path, p.differed) for p in settled.endpoints[0].paths] == [("line 2", 7)]
    # Read again, an early case's line is noise too, with the reference's own values there.
    run_dir = only_run(tmp_path / "out")
    for early in landed[:3]:
        (line,) = [d for d in load_case(run_dir, early.case).differences if d.path == "line 2"]
        assert line.noise and line.evidence.startswith("noise at line 2: the reference itself gave tick "), line


def many_endpoints(count: int, inconclusive: int) -> NoiseSettled:
    """Endpoints that do not template (slugs): each with two noisy paths, the first
    `inconclusive` with an inconclusive case and a failed sample."""
    paths = (NoisePathRow("$.a", 3, ("1",)), NoisePathRow("$.b", 2, ("x",)))
    return NoiseSettled(tuple(NoiseEndpointRow(f"GET /v1/slug-{n:04d}", 3, 1, paths, inconclusive=int(n < inconclusive),
                                               failed=int(n < inconclusive)) for n in range(count)))


def test_the_noise_table_and_its_notices_stay_bounded_however_many_endpoints():
    settled = many_endpoints(NOISE_ROWS, inconclusive=NOTICE_ENDPOINTS + 7)
    table = noise_markdown(settled)
    rows = [line for line in table if line.startswith("| GET ")]
    assert len(rows) == NOISE_ROWS  # not one per endpoint and path (twice as many)
    assert f"{NOISE_ROWS} rows shown; {NOISE_ROWS:,} more, and every path with its values, in `{NOISE_FILE}`." in table
    notices = noise_notices(settled)
    assert [n.level for n in notices] == ["warn", "info"]
    assert notices[0].message.startswith(f"{NOTICE_ENDPOINTS + 7} case(s) of {NOTICE_ENDPOINTS + 7} endpoints "
                                         "(GET /v1/slug-0000, GET /v1/slug-0001, GET /v1/slug-0002 and 7 more in "
                                         f"{NOISE_FILE}) inconclusive")
    assert len([line for line in table if line.startswith("- ")]) == 2
    # A few endpoints are still named one by one.
    few = noise_notices(many_endpoints(5, inconclusive=2))
    assert [n.message.split(" inconclusive")[0] for n in few if n.level == "warn"] == \
        ["1 case(s) of GET /v1/slug-0000", "1 case(s) of GET /v1/slug-0001"]


NASTY_KEY = 'k"\\\x1b[31m\x85\u202e'
NASTY_PATH = '/v1/say"hi\\\u0085\u202e'


def test_noise_suggest_is_valid_toml_and_no_display_passes_control_characters(servers, parity_config, tmp_path):
    async def reference(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps({"id": 1, NASTY_KEY: str(uuid.uuid4())}).encode()

    case = f'\n[[parity.case]]\nname = "nasty"\npath = {json.dumps(NASTY_PATH)}\n'
    # The candidate also differs on `id`, so the case is kept whole for the viewer.
    ref, cand = servers.serve_http(reference), servers.serve_http(fixed({"id": 2, NASTY_KEY: "fixed"}))
    config = parity_config(ref, cand, parity="noise_samples = 2", after=case, names=("ref", "cand"))
    done = gauntlet("parity", str(config), "--headless", "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stdout + done.stderr  # BLOCK on `$.id`
    table = done.stdout[done.stdout.index("learned noise"):]
    assert "$[" in table and not UNSAFE.search(table), table
    run_dir = only_run(tmp_path / "out")
    for report in ("parity/report.md", "verdict.md"):
        text = (run_dir / report).read_text()
        assert not UNSAFE.search(text[text.index("### Learned noise"):]), report
    (path,) = read_noise(run_dir).endpoints[0].paths

    suggest = gauntlet("noise", "suggest", str(run_dir))
    assert suggest.returncode == 0, suggest.stderr
    assert not UNSAFE.search(suggest.stdout), suggest.stdout
    assert tomllib.loads(suggest.stdout)["ignore"] == [f"GET {NASTY_PATH} {path.path}"]

    view = load_case(run_dir, "nasty")
    (noisy,) = [d for d in view.differences if d.noise]
    assert noisy.evidence.startswith("noise at $[") and not UNSAFE.search(noisy.evidence), noisy.evidence


def test_noise_suggest_warns_where_inconclusive_cases_would_become_silent_matches(servers, parity_config, tmp_path):
    async def random_tokens(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps({"token": str(uuid.uuid4())}).encode()

    run(parity_config, servers.serve_http(random_tokens), servers.serve_http(fixed({"token": "t"})), PLAYBOOK_CASE,
        "noise_samples = 2")
    suggest = gauntlet("noise", "suggest", str(only_run(tmp_path / "out")))
    assert suggest.returncode == 0, suggest.stderr
    lines = suggest.stdout.splitlines()
    warning = next(i for i, line in enumerate(lines) if "inconclusive" in line)
    assert lines[warning].lstrip().startswith("# WARNING: 1 case(s)"), lines[warning]
    assert lines[warning + 1].strip() == "# with noise_samples = 0 these lines make them silent matches"
    assert warning < next(i for i, line in enumerate(lines) if '"GET /v1/playbooks/{n} $.token"' in line)


@pytest.mark.parametrize("damage", ['{"endpoints": [], "overflow": "many"}', '{"endpoints": [[1]]}', "[]",
                                    '{"endpoints": [{"endpoint": "GET /", "samples": 1, "cases": 1, '
                                    '"paths": [{"path": "$", "differed": 1, "evidence": 5}]}]}'])
def test_a_damaged_noise_file_is_a_usage_error_never_an_internal_one(tmp_path, damage):
    run_dir = tmp_path / "run"
    (run_dir / "parity").mkdir(parents=True)
    (run_dir / "events.jsonl").write_text("")
    (run_dir / NOISE_FILE).write_text(damage)
    done = gauntlet("noise", "suggest", str(run_dir))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "noise.json: not a learned-noise file" in done.stderr and "Traceback" not in done.stderr


def test_learning_serialises_only_the_evidence_it_shows():
    # Fifty samples differing on a subtree of megabytes: the evidence is the start of the
    # values, serialised once, never the whole subtree per sample.
    from probes.parity._compare import Difference
    from probes.parity._noise import EVIDENCE_CHARS, NoisePool

    rows = [{"id": n, "name": "x" * 40} for n in range(40_000)]
    ref, cand = {"rows": rows}, {"rows": rows[::-1]}
    pool = NoisePool()
    started = time.process_time()
    for _ in range(50):
        pool.learn("GET /big", [[Difference("value", ("big",), ref, cand)]], None)
    spent = time.process_time() - started
    (path,) = pool.settled().endpoints[0].paths
    assert (path.path, path.differed) == ("$.big", 50)
    assert path.evidence == tuple(json.dumps(v)[:EVIDENCE_CHARS - 1] + "…" for v in (ref, cand))
    assert spent < 0.5, f"{spent:.2f} s of CPU to learn 50 samples"
