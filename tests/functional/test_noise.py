"""Learned noise against real loopback servers: a reference that answers generated data,
pooled per endpoint, judged again when the pool is settled, shown, and made explicit."""

from __future__ import annotations

import json
import random
import subprocess
import uuid

from probes.config import load_config
from probes.core.events import NoiseSettled, Notice, ParityCaseFinished
from probes.parity._noise_report import read_noise
from tui.parity_cells import noise_lines
from probes.parity._sidebyside import load_case

from ..cli import gauntlet
from ..conftest import only_run, run_engine

PLAYBOOK_CASE = '''
[[parity.case]]
name = "playbook_5"
path = "/v1/playbooks/5"
'''
FIXED = {"id": "pb_5", "name": "nightly", "steps": [{"op": "fetch", "n": 1}], "endorsed": ["ops"],
         "fingerprint": "fp_0", "owner": "sre"}


def dynamic_mock(seed: int = 5):
    """A mock server in its dynamic mode: every answer to GET /v1/playbooks/5 has steps and
    endorsed arrays of random length and items, and a random fingerprint; id, name and
    owner are the contract's examples, the same every time."""
    rng = random.Random(seed)

    async def handle(method, path, headers, body):
        steps = [{"op": rng.choice(["fetch", "load", "check", "ship"]), "n": rng.randint(1, 99)}
                 for _ in range(rng.randint(0, 7))]
        endorsed = [rng.choice(["ops", "sec", "data", "ml", "qa"]) for _ in range(rng.randint(0, 5))]
        payload = {"id": "pb_5", "name": "nightly", "steps": steps, "endorsed": endorsed,
                   "fingerprint": f"fp_{rng.getrandbits(64):016x}", "owner": "sre"}
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    return handle


def fixed(payload):
    async def handle(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    return handle


def run(parity_config, ref_url: str, cand_url: str, cases: str, parity_extra: str = ""):
    path = parity_config(ref_url, cand_url, parity=f"concurrency = 1\n{parity_extra}", after=cases,
                         names=("ref", "cand"))
    config = load_config(path, env={})
    outcome, seen = run_engine(config)
    return outcome, seen


def test_the_dynamic_reference_ends_without_a_blocking_divergence_and_shows_what_it_learned(servers, parity_config,
                                                                                            tmp_path):
    ref, cand = servers.serve_http(dynamic_mock()), servers.serve_http(fixed(FIXED))
    outcome, seen = run(parity_config, ref, cand, PLAYBOOK_CASE, "noise_samples = 3")
    case = next(e for e in seen if isinstance(e, ParityCaseFinished))
    assert outcome.verdict.verdict == "SHIP", outcome.verdict.reasons
    assert case.body_match and case.kinds == {"cand": None}
    counted = [d for d in case.diffs if not d.noise and not d.ignored]
    assert counted == [], counted
    assert not any(d.kind == "shape" and d.path.startswith("$.steps[") and not d.noise for d in case.diffs)

    settled = next(e for e in seen if isinstance(e, NoiseSettled))
    (endpoint,) = settled.endpoints
    assert endpoint.endpoint == "GET /v1/playbooks/{n}" and endpoint.samples == 3
    assert {p.path for p in endpoint.paths} == {"$.steps[*]", "$.endorsed[*]", "$.fingerprint"}
    fingerprint = next(p for p in endpoint.paths if p.path == "$.fingerprint")
    assert fingerprint.differed == 3 and all(v.startswith("fp_") for v in fingerprint.evidence)

    run_dir = only_run(tmp_path / "out")
    for report in (run_dir / "parity" / "report.md", run_dir / "verdict.md"):
        text = report.read_text()
        assert "Learned noise" in text, report
        for path in ("$.steps[*]", "$.endorsed[*]", "$.fingerprint"):
            assert f"| GET /v1/playbooks/{{n}} | `{path}` |" in text, (report, path)
    assert read_noise(run_dir) == settled
    pane = noise_lines(settled).plain  # what the parity pane shows under its headline
    assert all(f"{path} 3/3" in pane for path in ("$.steps[*]", "$.endorsed[*]", "$.fingerprint")), pane


def test_a_stable_field_changed_in_the_candidate_still_diverges_among_noisy_siblings(servers, parity_config):
    ref = servers.serve_http(dynamic_mock())
    cand = servers.serve_http(fixed({**FIXED, "name": "hourly"}))
    outcome, seen = run(parity_config, ref, cand, PLAYBOOK_CASE, "noise_samples = 3")
    case = next(e for e in seen if isinstance(e, ParityCaseFinished))
    assert outcome.verdict.verdict == "BLOCK"
    assert case.kinds == {"cand": "value"}
    assert [(d.path, d.kind) for d in case.diffs if not d.noise] == [("$.name", "value")]
    assert any("value divergence" in r and "`$.name`" in r for r in outcome.verdict.reasons), outcome.verdict.reasons


def ticking(period: int):
    """A reference whose `tick` moves on every `period` answers: one case's two answers
    rarely see it move; fifty cases of the endpoint do."""
    count = iter(range(10**6))

    async def handle(method, path, headers, body):
        n = next(count)
        payload = {"id": path.rsplit("/", 1)[-1], "tick": n // period}
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    return handle


def candidate_of_ids():
    async def handle(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps({"id": path.rsplit("/", 1)[-1], "tick": -1}).encode()

    return handle


FIFTY = "".join(f'\n[[parity.case]]\nname = "pb_{n}"\npath = "/v1/playbooks/{n}"\n' for n in range(1, 51))


def test_fifty_cases_of_one_endpoint_learn_the_noise_one_case_alone_misses(servers, parity_config):
    # One worker, so the reference's answers come in the cases' order: case k gets answers
    # 2k and 2k+1, and `tick` (answer // 7) first moves inside a case at the fourth.
    ref, cand = servers.serve_http(ticking(7)), servers.serve_http(candidate_of_ids())
    alone, _ = run(parity_config, ref, cand, '\n[[parity.case]]\nname = "pb_1"\npath = "/v1/playbooks/1"\n',
                   "noise_samples = 1")
    assert alone.verdict.verdict == "BLOCK"
    assert any("`$.tick`" in r for r in alone.verdict.reasons)


def test_pooled_noise_judges_the_early_cases_again_when_settled(servers, parity_config, tmp_path):
    ref, cand = servers.serve_http(ticking(7)), servers.serve_http(candidate_of_ids())
    outcome, seen = run(parity_config, ref, cand, FIFTY, "noise_samples = 1")
    landed = [e for e in seen if isinstance(e, ParityCaseFinished)]
    assert len(landed) == 50
    # The first cases landed before the pool knew `tick`: judged as they stood, they diverged.
    assert [e.kinds["cand"] for e in landed[:3]] == ["value", "value", "value"]
    assert all(e.kinds["cand"] is None for e in landed[3:])
    settled = next(e for e in seen if isinstance(e, NoiseSettled))
    assert [(p.path, p.differed) for p in settled.endpoints[0].paths] == [("$.tick", 7)]
    assert settled.endpoints[0].samples == 50 and settled.endpoints[0].cases == 50
    # Settled, the early cases are judged again: nothing stable diverges anywhere.
    assert outcome.verdict.verdict == "SHIP", outcome.verdict.reasons
    run_dir = only_run(tmp_path / "out")
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["phases"]["parity"]["body_divergent"] == 0
    # `gauntlet verdict` replays the events to the same judgement.
    replay = gauntlet("verdict", str(run_dir))
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "SHIP" in replay.stdout


def test_a_reference_that_is_all_noise_is_inconclusive_never_a_silent_match(servers, parity_config, tmp_path):
    async def random_tokens(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps({"token": str(uuid.uuid4())}).encode()

    ref, cand = servers.serve_http(random_tokens), servers.serve_http(fixed({"token": "t"}))
    outcome, seen = run(parity_config, ref, cand, PLAYBOOK_CASE, "noise_samples = 2")
    case = next(e for e in seen if isinstance(e, ParityCaseFinished))
    assert case.inconclusive
    notices = [e.message for e in seen if isinstance(e, Notice) and e.level == "warn"]
    assert any("1 case(s) of GET /v1/playbooks/{n} inconclusive" in m for m in notices), notices
    run_dir = only_run(tmp_path / "out")
    assert "1/1 inconclusive" in (run_dir / "verdict.md").read_text()
    assert "1 case(s) of GET /v1/playbooks/{n} inconclusive" in (run_dir / "parity" / "report.md").read_text()


def test_the_viewer_dims_noisy_rows_with_the_references_own_values(servers, parity_config, tmp_path):
    ref = servers.serve_http(dynamic_mock())
    cand = servers.serve_http(fixed({**FIXED, "name": "hourly"}))
    run(parity_config, ref, cand, PLAYBOOK_CASE, "noise_samples = 3")
    view = load_case(only_run(tmp_path / "out"), "playbook_5")
    noisy = [d for d in view.differences if d.noise]
    assert noisy and all(d.evidence for d in noisy)
    fingerprint = next(d for d in noisy if d.path == "$.fingerprint")
    assert "differed in 3 of 3 samples" in fingerprint.evidence
    assert [d.path for d in view.differences if not d.noise] == ["$.name"]


def test_suggested_ignore_lines_give_the_same_verdict_without_sampling(servers, parity_config, tmp_path):
    ref, cand = servers.serve_http(dynamic_mock()), servers.serve_http(fixed(FIXED))
    learned, _ = run(parity_config, ref, cand, PLAYBOOK_CASE, "noise_samples = 3")
    suggest = gauntlet("noise", "suggest", str(only_run(tmp_path / "out")))
    assert suggest.returncode == 0, suggest.stderr
    assert '"GET /v1/playbooks/{n} $.fingerprint",' in suggest.stdout
    for old in (tmp_path / "out").iterdir():
        subprocess.run(["rm", "-rf", str(old)], check=True)
    explicit, seen = run(parity_config, ref, cand, PLAYBOOK_CASE, "noise_samples = 0\n" + suggest.stdout)
    assert explicit.verdict.verdict == learned.verdict.verdict == "SHIP"
    assert not any(isinstance(e, NoiseSettled) for e in seen)
    # Scoped to the endpoint it was learned on: another endpoint's fingerprint still counts.
    other = '\n[[parity.case]]\nname = "other"\npath = "/v1/other"\n'
    for old in (tmp_path / "out").iterdir():
        subprocess.run(["rm", "-rf", str(old)], check=True)
    blocked, _ = run(parity_config, ref, cand, other, "noise_samples = 0\n" + suggest.stdout)
    assert blocked.verdict.verdict == "BLOCK"


def test_noise_suggest_on_a_run_that_sampled_nothing_or_a_damaged_file_says_so(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "parity").mkdir(parents=True)
    (run_dir / "events.jsonl").write_text("")

    def suggest():
        return gauntlet("noise", "suggest", str(run_dir))

    done = suggest()
    assert done.returncode == 2
    assert "learned no noise" in done.stderr and "Traceback" not in done.stderr
    (run_dir / "parity" / "noise.json").write_text('{"endpoints": [{"endpoint": 1}]}')
    done = suggest()
    assert done.returncode == 2
    assert "noise.json: not a learned-noise file" in done.stderr and "Traceback" not in done.stderr


def _problems(write_config, parity: str) -> list[str]:
    from probes.core._errors import ConfigError

    path = write_config(f'[parity]\nreference = "a"\n{parity}\n[parity.targets]\na = "http://x"\nb = "http://y"\n')
    try:
        load_config(path, env={})
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_the_config_reads_noise_samples_rules_and_the_old_noise_check(write_config):
    base = '[parity]\nreference = "a"\n{}\n[parity.targets]\na = "http://x"\nb = "http://y"\n'
    assert load_config(write_config(base.format("noise_check = true")), env={}).parity.noise_samples == 1
    assert load_config(write_config(base.format("")), env={}).parity.noise_samples == 0
    parity = load_config(write_config(base.format(
        'noise_samples = 3\nunordered = ["$.items", "$.orders[*].tags"]\nnumbers = "numeric"\n'
        'ignore = ["GET /v1/playbooks/{n} $.fingerprint"]\n'
        'tolerance = { "$.price" = 0.001, "$.stats.*" = "1%" }')), env={}).parity
    assert parity.noise_samples == 3 and parity.rules.numbers == "numeric"
    assert parity.rules.unordered == ("$.items", "$.orders[*].tags")
    assert {p: str(t) for p, t in parity.rules.tolerance.items()} == {"$.price": "0.001", "$.stats.*": "1%"}


def test_bad_noise_and_rule_keys_are_named_with_their_key_paths(write_config):
    problems = _problems(write_config, 'noise_check = true\nnoise_samples = 2\nunordered = ["items"]\n'
                                       'numbers = "loose"\nignore = ["FETCH /x $.a"]\n'
                                       'tolerance = { "$.price" = "cheap", "stats" = 1 }')
    expected = ["parity.noise_check: give noise_samples alone", "parity.unordered[0]: a JSON path starts with '$'",
                "parity.numbers: expected one of strict, numeric", "parity.ignore[0]: a JSON path starts with '$'",
                'parity.tolerance."$.price": expected a number or a percentage', 'parity.tolerance."stats": a JSON path']
    for want in expected:
        assert any(p.startswith(want) for p in problems), (want, problems)
    assert any(p.startswith("parity.noise_samples: must be between 0 and 20")
               for p in _problems(write_config, "noise_samples = 99"))


def test_an_endpoint_is_the_cases_template_or_its_path_with_identifiers_wildcarded(write_config, tmp_path):
    from probes.cases._casefile import GeneratedCase, cases_toml
    from probes.cases._case import ParityCase
    from probes.parity._noise import endpoint_of

    assert endpoint_of(ParityCase("a", path="/v1/playbooks/5")) == "GET /v1/playbooks/{n}"
    assert endpoint_of(ParityCase("b", "POST", "/v1/users/0f8fad5b-d9cb-469f-a165-70867728950e/orders")) == \
        "POST /v1/users/{uuid}/orders"
    # A slug is not an identifier by its looks: the template an import wrote says it is one.
    generated = GeneratedCase("c", "GET", "/v1/playbooks/nightly", template="/v1/playbooks/{slug}")
    (tmp_path / "cases.toml").write_text(cases_toml([], [generated]))
    config = load_config(write_config('[parity]\nreference = "a"\ncases_file = "cases.toml"\n'
                                      '[parity.targets]\na = "http://x"\nb = "http://y"\n'), env={})
    assert [endpoint_of(c) for c in config.parity.cases] == ["GET /v1/playbooks/{slug}"]
    assert endpoint_of(ParityCase("d", path="/v1/playbooks/nightly")) == "GET /v1/playbooks/nightly"


def test_the_viewer_lays_an_unordered_array_out_by_its_pairs(servers, parity_config, tmp_path):
    ref = servers.serve_http(fixed({"items": [{"id": 1, "p": 5}, {"id": 2, "p": 7}, {"id": 3, "p": 9}],
                                    "tags": ["a", "b"]}))
    cand = servers.serve_http(fixed({"items": [{"id": 3, "p": 9}, {"id": 4, "p": 1}, {"id": 1, "p": 5},
                                               {"id": 2, "p": 8}], "tags": ["b", "a"]}))
    outcome, seen = run(parity_config, ref, cand, PLAYBOOK_CASE, 'unordered = ["$.items", "$.tags"]')
    case = next(e for e in seen if isinstance(e, ParityCaseFinished))
    # {"id": 2, "p": 7} meets {"id": 2, "p": 8}; {"id": 4} is the candidate's alone (its index 1).
    assert sorted((d.path, d.kind, d.ref, d.cand) for d in case.diffs) == [
        ("$.items[1]", "shape", "absent", '{"id": 4, "p": 1}'), ("$.items[1].p", "value", "7", "8")]
    view = load_case(only_run(tmp_path / "out"), "playbook_5")
    rows = list(zip(view.alignment.left, view.alignment.right))
    shown = [(view.left.lines[a].strip() if a >= 0 else "", view.right.lines[b].strip() if b >= 0 else "")
             for a, b in rows]
    # Each reference item beside the item it was compared with; equal ones line up whole.
    assert ('"id": 1,', '"id": 1,') in shown and ('"id": 3,', '"id": 3,') in shown
    assert ('"p": 7', '"p": 8') in shown and ('', '"id": 4,') in shown
    assert ('"b"', '"b"') in shown or ('"b",', '"b",') in shown
    assert outcome.verdict.verdict == "BLOCK"
    for d in view.differences:
        assert d.rows, d


def test_the_panes_noise_lines_stay_a_few_whatever_was_learned():
    """The pane shows a handful of lines under its headline; 500 endpoints of 40 noisy paths
    each must not become a Text of 20,000 entries drawn on every refresh."""
    from probes.core.events import NoiseEndpointRow, NoisePathRow

    endpoints = tuple(NoiseEndpointRow(f"GET /v{i}/{{n}}", 3, 1, tuple(NoisePathRow(f"$.f{j}", 3, ()) for j in range(40)))
                      for i in range(500))
    shown = noise_lines(NoiseSettled(endpoints)).plain
    lines = shown.split("\n")
    assert len(lines) <= 7 and all(len(line) < 400 for line in lines), shown[:2000]
    assert lines[0].startswith("noise GET /v0/{n}: $.f0 3/3") and "32 more" in lines[0]
    assert lines[-1] == "… and 494 more endpoints with noise (parity/noise.json)"
